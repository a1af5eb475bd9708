"""Writes this folder's synthetic messages and expected.yaml. Run from the repo root:
.venv/bin/python tests/data/rule_cases/generate.py"""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from ed_alerts.synthetic import Generator, Visit, adt

out = Path(__file__).parent
now = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
gen = Generator(seed=77, now=now)
cases = []
jay = gen.child(age=15)
v = Visit(child=jay, site="RGT01", visit_number="RC01", arrival=now - timedelta(days=20), reason="Assaulted",
          diagnoses=[("Y04", "Assault by bodily force", "I10")],
          observations=[("NM", "ASSAILANTS", "Number of assailants", "4")],
          notes=["Says he was jumped by 4 lads at the park."])
cases.append(("01_group_assault.hl7", adt(v, control_id="RC01"), ["assault", "group_violence"]))
v = Visit(child=jay, site="RGT02", visit_number="RC02", arrival=now, reason="Head injury",
          diagnoses=[("S09.9", "Injury of head, unspecified", "I10")])
cases.append(("02_repeat_other_site.hl7", adt(v, control_id="RC02"), ["repeat_attendance"]))
v = Visit(child=gen.child(age=13), site="RGT01", visit_number="RC03", arrival=now, reason="Abdominal pain",
          observations=[("CE", "FEELS_SAFE", "Does the child feel safe", "N^No^HL70136")])
cases.append(("03_structured_not_safe.hl7", adt(v, control_id="RC03"), ["does_not_feel_safe"]))
v = Visit(child=gen.child(age=16), site="RGT01", visit_number="RC04", arrival=now,
          reason="Self-presented, anxious",
          notes=["Pt tearful. States they've been coming round his house and he can't go back there."])
cases.append(("04_text_disclosure.hl7", adt(v, control_id="RC04"), ["does_not_feel_safe"]))
v = Visit(child=gen.child(age=12), site="RGT01", visit_number="RC05", arrival=now, reason="Wrist injury",
          notes=["Seen alone. Denies feeling unsafe at home. Fell off scooter."],
          diagnoses=[("W01", "Fall on same level", "I10")])
cases.append(("05_negated_no_flags.hl7", adt(v, control_id="RC05"), []))
v = Visit(child=gen.child(age=35), site="RGT01", visit_number="RC06", arrival=now, reason="Assault",
          diagnoses=[("Y04", "Assault by bodily force", "I10")])
cases.append(("06_adult_no_flags.hl7", adt(v, control_id="RC06"), []))
v = Visit(child=gen.child(age=15, away=True), site="RGT01", visit_number="RC07", arrival=now,
          reason="Stab wound to leg", diagnoses=[("X99", "Assault by sharp object", "I10")])
cases.append(("07_knife_far_from_home.hl7", adt(v, control_id="RC07"), ["assault", "weapon", "far_from_home"]))
v = Visit(child=gen.child(age=14), site="RGT01", visit_number="RC08", arrival=now, reason="Overdose",
          observations=[("CE", "KNOWN_TO_CSC", "Known to children's social care", "Y^Yes^HL70136")])
cases.append(("08_known_to_social_care.hl7", adt(v, control_id="RC08"), ["known_to_social_care"]))

lines = ["# Expected flags for each synthetic message here (ed-alerts rules test tests/data/rule_cases)."]
for name, raw, rules in cases:
    (out / name).write_bytes(raw)
    lines.append(f"{name}: [{', '.join(rules)}]")
(out / "expected.yaml").write_text("\n".join(lines) + "\n")
