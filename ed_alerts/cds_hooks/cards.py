"""Active flags as CDS Hooks cards: one card per flagged attendance, newest first.

One card per attendance rather than per flag: three flags on one visit are one event for the
clinician, with one link to follow; the card's indicator is that of its most severe flag. The detail
quotes the words that raised each text flag (the sentence around them), because the child's own words
are what a clinician acts on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ed_alerts.attendances.models import Attendance
from ed_alerts.cds_hooks.queries import FlaggedAttendance
from ed_alerts.flags.models import Flag
from ed_alerts.sites.registry import SiteRegistry

SOURCE = {"label": "ed-alerts safeguarding rules"}
MAX_SUMMARY = 139  # the spec: fewer than 140 characters
MAX_CARDS = 10  # a child with many flagged visits still gets a readable answer; the rest are counted
_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}
# Enough to stop emphasis, links, images, code, tables and HTML; line-start markup cannot occur
# because every quoted text follows our own words on its line.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&#])")
_EXCERPT_LIMIT = 200


def md(text: str) -> str:
    """Text from a message, made inert in markdown (no links, emphasis or HTML from a note)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def indicator(flags: list[Flag]) -> str:
    return "critical" if any(f.severity in ("critical", "high") for f in flags) else "warning"


def _by_severity(flags: list[Flag]) -> list[Flag]:
    return sorted(flags, key=lambda f: (_SEVERITY_ORDER.get(f.severity, 9), f.rule_id))


def _when(att: Attendance) -> str:
    return f"{att.arrival_time:%d %b %Y}" if att.arrival_time else "an attendance"


_VISIT = {"hospital_ed": "ED attendance", "minor_injury_unit": "minor injury unit attendance",
          "ambulance": "ambulance incident"}


def summary(item: FlaggedAttendance) -> str:
    titles = ", ".join(f.title for f in _by_severity(item.flags))
    noun = "flag" if len(item.flags) == 1 else "flags"
    visit = _VISIT.get(item.attendance.source_type, "attendance")
    text = f"Safeguarding {noun} from {visit} {_when(item.attendance)}: {titles}"
    return text if len(text) <= MAX_SUMMARY else text[:MAX_SUMMARY - 1].rstrip(" ,") + "…"


def _source_text(att: Attendance, evidence: dict[str, Any]) -> str | None:
    index = evidence.get("source_index")
    if index is None:
        return att.reason if evidence.get("source") == "reason" else None
    notes = (att.clinical or {}).get("notes", [])
    if isinstance(index, int) and 0 <= index < len(notes) and isinstance(notes[index], dict):
        return notes[index].get("text")
    return None


def excerpt(att: Attendance, evidence: dict[str, Any]) -> str | None:
    """The sentence holding the matched words, if the stored text still holds them where recorded."""
    text, start, end = _source_text(att, evidence), evidence.get("start"), evidence.get("end")
    if not text or not isinstance(start, int) or not isinstance(end, int):
        return None
    if text[start:end] != evidence.get("matched_text"):
        return None  # the note changed since: do not quote words out of place
    left = max((text.rfind(c, 0, start) for c in ".!?\n"), default=-1) + 1
    rights = [i for i in (text.find(c, end) for c in ".!?\n") if i != -1]
    right = min(rights) + 1 if rights else len(text)
    sentence = text[left:right].strip()
    return sentence if len(sentence) <= _EXCERPT_LIMIT else text[start:end]


def _flag_markdown(att: Attendance, flag: Flag) -> str:
    hedge = ", uncertain" if flag.uncertain else ""
    reason = flag.reason.removeprefix(f"{flag.title}: ")  # the reason repeats the title first
    lines = [f"**{md(flag.title)}** ({md(flag.severity)}{hedge}): {md(reason)}"]
    quoted: set[str] = set()
    for ev in flag.evidence or []:
        line = f"- {md(str(ev.get('description', ev.get('kind', 'evidence'))))}"
        quote = excerpt(att, ev) if ev.get("kind") == "text" else None
        if quote and quote not in quoted:  # several matches in one sentence: quote it once
            quoted.add(quote)
            line += f": “{md(quote)}”"
        lines.append(line)
    return "\n".join(lines)


def detail(item: FlaggedAttendance, sites: SiteRegistry) -> str:
    att = item.attendance
    site = sites.lookup(att.site_code)
    where = site.name if site else att.site_code
    arrived = f"{att.arrival_time:%d %b %Y %H:%M} UTC" if att.arrival_time else "arrival time unknown"
    head = f"Attendance at {md(where)}, arrived {md(arrived)}."
    return "\n\n".join([head, *(_flag_markdown(att, f) for f in _by_severity(item.flags))])


def attendance_card(item: FlaggedAttendance, sites: SiteRegistry, base_url: str) -> dict[str, Any]:
    return {
        "summary": summary(item),
        "detail": detail(item, sites),
        "indicator": indicator(item.flags),
        "source": dict(SOURCE),
        "links": [{"label": "Open the attendance in ed-alerts",
                   "url": f"{base_url}/attendances/{item.attendance.id}", "type": "absolute"}],
    }


@dataclass(frozen=True)
class CardSet:
    cards: list[dict[str, Any]]
    shown_flag_ids: list[int]  # the flags whose reasons and evidence the cards show


def cards_for(flagged: list[FlaggedAttendance], sites: SiteRegistry, base_url: str) -> CardSet:
    shown, hidden = flagged[:MAX_CARDS], flagged[MAX_CARDS:]
    cards = [attendance_card(item, sites, base_url) for item in shown]
    if hidden:
        count = sum(len(i.flags) for i in hidden)
        cards.append({
            "summary": f"{count} more safeguarding flags on {len(hidden)} earlier attendances",
            "detail": "Open the child's most recent attendance in ed-alerts to see the full history.",
            "indicator": indicator([f for i in hidden for f in i.flags]),
            "source": dict(SOURCE),
        })
    return CardSet(cards=cards, shown_flag_ids=[f.id for i in shown for f in i.flags])
