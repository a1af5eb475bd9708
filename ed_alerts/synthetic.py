"""Synthetic HL7 v2 ED messages for the demo feed, tests and the load generator.

Every name, number and address here is invented; NHS numbers come from the synthetic test range.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta


FIRST = ["Alfie", "Jayden", "Mason", "Tyler", "Kai", "Leo", "Ruby", "Amelia", "Maya", "Chloe", "Zain",
         "Callum", "Ellie", "Harvey", "Nia", "Reece", "Tia", "Owen", "Sophie", "Dylan"]
FAMILY = ["Testwood", "Samplefield", "Fakeham", "Mockley", "Dummer", "Placeby", "Synthon", "Exampleton",
          "Notreal", "Fictor"]
HOME_POSTCODES = ["CB1 2AB", "CB2 8PQ", "CB4 1XY", "CB5 8HT", "PE27 5AA", "CB6 1BN"]
AWAY_POSTCODES = ["E8 3QP", "N17 6RT", "B12 9LL"]


@dataclass
class Child:
    family: str
    given: str
    birth_date: date
    nhs: str | None
    mrn: str
    postcode: str
    sex: str = "M"


@dataclass
class Visit:
    child: Child
    site: str
    visit_number: str
    arrival: datetime
    reason: str = "Injury"
    diagnoses: list[tuple[str, str, str]] = field(default_factory=list)  # (code, text, system)
    observations: list[tuple[str, str, str, str]] = field(default_factory=list)  # (type, code, text, value)
    notes: list[str] = field(default_factory=list)


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%d%H%M%S") + "+0000"


def _escape(text: str) -> str:
    return (text.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\")
            .replace("&", "\\T\\").replace("~", "\\R\\"))


def adt(visit: Visit, event: str = "A04", *, control_id: str, sent: datetime | None = None,
        version: str = "2.4", segment_end: str = "\r") -> bytes:
    """An ED ADT message for a visit. `event` is A01, A04, A08, A03 or A11."""
    c = visit.child
    sent = sent or visit.arrival
    ids = [f"{c.mrn}^^^{visit.site}^MR"]
    if c.nhs:
        ids.append(f"{c.nhs}^^^NHS^NH")
    segs = [
        f"MSH|^~\\&|EDIS|{visit.site}|EDALERTS|ICB|{_ts(sent)}||ADT^{event}^ADT_A01|{control_id}|P|{version}"
        "|||AL|NE||UNICODE UTF-8",
        f"EVN|{event}|{_ts(sent)}",
        f"PID|1||{'~'.join(ids)}||{c.family}^{c.given}||{c.birth_date:%Y%m%d}|{c.sex}|||"
        f"1 Example Street^^Cambridge^^{c.postcode}^GBR^H",
        f"PV1|1|E|ED^^^{visit.site}||||||||||||||||{visit.visit_number}|||||||||||||||||||||||||"
        f"{_ts(visit.arrival)}" + (f"|{_ts(sent)}" if event == "A03" else ""),
        f"PV2|||^{_escape(visit.reason)}",
    ]
    for i, (code, text, system) in enumerate(visit.diagnoses, 1):
        segs.append(f"DG1|{i}|{system}|{code}^{_escape(text)}^{system}||{_ts(visit.arrival)}|W")
    for i, (vtype, code, text, value) in enumerate(visit.observations, 1):
        # Coded values carry components (code^text^system); text values are escaped.
        shown = value if vtype in {"CE", "CWE", "CNE"} else _escape(value)
        segs.append(f"OBX|{i}|{vtype}|{code}^{_escape(text)}^L||{shown}||||||F")
    for i, note in enumerate(visit.notes, 1):
        segs.append(f"NTE|{i}|L|{_escape(note)}")
    return (segment_end.join(segs) + segment_end).encode("utf-8")


def _with_check_digit(stem: str) -> str | None:
    total = sum(int(d) * (10 - i) for i, d in enumerate(stem))
    check = 11 - total % 11
    if check == 10:
        return None  # no valid number has this stem
    return stem + str(0 if check == 11 else check)


class Generator:
    """A reproducible stream of children and visits with a realistic mix of safeguarding content."""

    def __init__(self, seed: int = 1, *, now: datetime | None = None) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.now = now or datetime.now(UTC)
        self._counter = 0

    def nhs_number(self) -> str:
        """A number in the 999 range NHS England reserves for test data, with a valid check digit."""
        while True:
            stem = "999" + "".join(str(self.rng.randint(0, 9)) for _ in range(6))
            candidate = _with_check_digit(stem)
            if candidate:
                return candidate

    def next_id(self, prefix: str = "MSG") -> str:
        self._counter += 1
        return f"{prefix}{self._counter:08d}"

    def child(self, *, age: int | None = None, away: bool = False, with_nhs: bool = True) -> Child:
        age = age if age is not None else self.rng.randint(10, 17)
        born = self.now.date() - timedelta(days=age * 365 + self.rng.randint(30, 300))
        return Child(
            family=self.rng.choice(FAMILY), given=self.rng.choice(FIRST), birth_date=born,
            nhs=self.nhs_number() if with_nhs else None, mrn=f"MRN{self.rng.randint(100000, 999999)}",
            postcode=self.rng.choice(AWAY_POSTCODES if away else HOME_POSTCODES),
            sex=self.rng.choice("MF"),
        )

    def visit(self, child: Child, site: str, *, kind: str = "plain", arrival: datetime | None = None) -> Visit:
        arrival = arrival or self.now - timedelta(minutes=self.rng.randint(1, 120))
        v = Visit(child=child, site=site, visit_number=self.next_id(f"V{self.seed}-"), arrival=arrival)
        if kind == "plain":
            v.reason, v.diagnoses = "Inversion injury ankle", [("S93.4", "Sprain of ankle", "I10")]
            v.notes = ["Twisted ankle playing football. NV intact."]
        elif kind == "assault":
            v.reason = "Assaulted - punched in face"
            v.diagnoses = [("Y04", "Assault by bodily force", "I10"), ("S02.2", "Fracture of nasal bones", "I10")]
            v.notes = ["Pt states he was punched by an older boy outside school."]
        elif kind == "group_assault":
            v.reason = "Assault"
            v.diagnoses = [("Y04", "Assault by bodily force", "I10")]
            v.observations = [("NM", "ASSAILANTS", "Number of assailants", "3")]
            v.notes = ["Pt says he was jumped by 3 lads on the way home."]
        elif kind == "disclosure":
            v.reason = "Laceration to hand"
            v.diagnoses = [("S61.4", "Open wound of hand", "I10")]
            v.observations = [("CE", "FEELS_SAFE", "Does the child feel safe", "N^No^HL70136")]
            v.notes = ["Pt tearful, says 'I don't feel safe going home', won't say why."]
        elif kind == "weapon":
            v.reason = "Stab wound to thigh"
            v.diagnoses = [("X99", "Assault by sharp object", "I10")]
            v.notes = ["Pt reports he was stabbed with a knife by someone he owes money to."]
        return v
