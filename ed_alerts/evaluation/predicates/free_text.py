"""`text_disclosure` (clinical NLP findings) and `text_mentions` (rule-file phrases) over reason and notes."""

from __future__ import annotations

from ed_alerts.evaluation.phrases import find_phrases
from ed_alerts.evaluation.predicates.run import Run, TextSource
from ed_alerts.evaluation.results import Evidence, EvidenceKind, Match
from ed_alerts.evaluation.schema import TextDisclosure, TextMentions


def _text_evidence(
    where: TextSource,
    matched: str,
    start: int,
    end: int,
    description: str,
    *,
    concept: str | None = None,
    uncertain: bool = False,
) -> Evidence:
    return Evidence(
        kind=EvidenceKind.TEXT,
        source=where.source,
        source_index=where.index,
        description=description,
        matched_text=matched,
        start=start,
        end=end,
        concept=concept,
        uncertain=uncertain,
    )


def text_disclosure(predicate: TextDisclosure, run: Run) -> Match:
    # Without a detector nothing can be disclosed; the service always passes one, tests may not.
    concepts = set(predicate.concepts)
    evidence: list[Evidence] = []
    for position, where in enumerate(run.text_sources()):
        found = [
            f
            for f in run.findings(position)
            if f.concept in concepts
            and f.excluded_reason is None
            and (predicate.include_uncertain or not f.uncertain)
        ]
        for finding in sorted(found, key=lambda f: (f.start, f.end, f.concept)):
            hedge = " (uncertain)" if finding.uncertain else ""
            evidence.append(
                _text_evidence(
                    where,
                    finding.matched_text,
                    finding.start,
                    finding.end,
                    f"'{finding.matched_text}' in {where.source}{hedge}",
                    concept=finding.concept,
                    uncertain=bool(finding.uncertain),
                )
            )
    return Match.yes(evidence) if evidence else Match.no()


def text_mentions(predicate: TextMentions, run: Run) -> Match:
    label = f"{predicate.label} " if predicate.label else ""
    evidence: list[Evidence] = []
    for where in run.text_sources():
        for hit in find_phrases(where.text, predicate.patterns, predicate.cues):
            evidence.append(
                _text_evidence(
                    where,
                    hit.matched_text,
                    hit.start,
                    hit.end,
                    f"{label}'{hit.matched_text}' in {where.source}",
                )
            )
    return Match.yes(evidence) if evidence else Match.no()
