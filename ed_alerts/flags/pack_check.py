"""Runs the whole rule pack over a folder of messages and compares with an expected-flags file.

The messages go through the real pipeline into a throwaway SQLite database, in file-name order, so
rules that look at history (repeat attendance) see the earlier files. The expected file is YAML:
`{file name: [rule ids]}`; a file not listed is expected to raise no flags.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy import select

from ed_alerts.db.migrate import upgrade
from ed_alerts.flags.models import Flag, FlagStatus
from ed_alerts.ingest.bulk import messages_in
from ed_alerts.ingest.models import Transport
from ed_alerts.ingest.pipeline import ingest
from ed_alerts.services import Services
from ed_alerts.settings import Settings


@dataclass
class RuleConfusion:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0


@dataclass
class PackCheck:
    confusion: dict[str, RuleConfusion]
    mismatches: list[str] = field(default_factory=list)


def run_pack_over_folder(folder: Path, expected_file: Path, settings: Settings) -> PackCheck:
    expected: dict[str, list[str]] = yaml.safe_load(expected_file.read_text(encoding="utf-8")) or {}
    files = sorted(p for p in folder.iterdir() if p.is_file() and p != expected_file
                   and p.suffix in {".hl7", ".json", ".txt"})
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'pack-check.db'}"
        upgrade(url)
        services = Services.build(settings.model_copy(update={"database_url": url, "mllp_enabled": False}))
        try:
            raised: dict[str, set[str]] = {}
            for path in files:
                rules: set[str] = set()
                for content_type, raw in messages_in(path.read_bytes()):
                    outcome = ingest(services.ingest, raw, content_type, Transport.FILE)
                    with services.db.session() as session:
                        rules |= set(session.scalars(
                            select(Flag.rule_id).where(Flag.attendance_id.in_(outcome.attendance_ids),
                                                       Flag.status == FlagStatus.ACTIVE)))
                raised[path.name] = rules
        finally:
            services.close()
    rule_ids = [r.id for r in services.pack.rules]
    confusion = {rule_id: RuleConfusion() for rule_id in rule_ids}
    check = PackCheck(confusion=confusion)
    for name, got in raised.items():
        want = set(expected.get(name, []))
        for rule_id in rule_ids:
            c = confusion[rule_id]
            if rule_id in want and rule_id in got:
                c.tp += 1
            elif rule_id in got:
                c.fp += 1
            elif rule_id in want:
                c.fn += 1
            else:
                c.tn += 1
        if got != want:
            check.mismatches.append(f"{name}: expected {sorted(want)}, raised {sorted(got)}")
    return check


def format_pack_check(check: PackCheck) -> str:
    lines = [f"{'rule':24s} {'TP':>4s} {'FP':>4s} {'FN':>4s} {'TN':>4s}"]
    for rule_id, c in check.confusion.items():
        lines.append(f"{rule_id:24s} {c.tp:4d} {c.fp:4d} {c.fn:4d} {c.tn:4d}")
    if check.mismatches:
        lines.append("")
        lines.append("mismatches:")
        lines.extend(f"  {m}" for m in check.mismatches)
    return "\n".join(lines)
