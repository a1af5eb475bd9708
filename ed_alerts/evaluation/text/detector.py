"""DisclosureDetector: find a child's own disclosure that they do not feel safe in free text.

Build it once at start, from a rule folder: importing spaCy/medspaCy and compiling the templates
into ~6,000 matcher rules takes about 4-5 s on a CI-sized machine and holds ~130 MB. `detect` then
takes a few milliseconds per triage note (median ~7 ms on the dev corpus).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ed_alerts.evaluation.text.assertion import assess
from ed_alerts.evaluation.text.findings import TextFinding
from ed_alerts.evaluation.text.pipeline import build_pipeline
from ed_alerts.evaluation.text.rule_files import ConceptSpec, NlpRuleFolder, load_rule_folder

if TYPE_CHECKING:
    from spacy.language import Language


class DisclosureDetector:
    """Finds target-concept phrases and the ConText cues around them; see `detect`."""

    def __init__(self, nlp: Language, rules: NlpRuleFolder) -> None:
        self._nlp = nlp
        self._rules = rules
        self._concepts: dict[str, ConceptSpec] = {concept.name: concept for concept in rules.concepts}

    @classmethod
    def from_folder(cls, folder: Path) -> DisclosureDetector:
        """Load and check the folder, then build the pipeline; raises RulePackError on a bad folder."""
        rules = load_rule_folder(folder)
        return cls(build_pipeline(rules), rules)

    @property
    def rules_folder(self) -> Path:
        return self._rules.folder

    @property
    def concepts(self) -> tuple[str, ...]:
        return tuple(name for name, concept in self._concepts.items() if concept.report)

    def detect(self, text: str) -> list[TextFinding]:
        """Every target phrase in `text`, in text order, each with its context decision."""
        if not text.strip():
            return []
        doc = self._nlp(text)
        findings: list[TextFinding] = []
        for target in doc.ents:
            concept = self._concepts[target.label_]
            if not concept.report:
                continue  # an "other sense" phrase ("safe to discharge") that only blocks others
            verdict = assess(target, concept.uncertain, self._rules.settings.exclusion_order)
            findings.append(
                TextFinding(
                    concept=concept.name,
                    matched_text=target.text,
                    start=target.start_char,
                    end=target.end_char,
                    sentence=target.sent.text,
                    uncertain=verdict.uncertain,
                    third_party_report=verdict.third_party_report,
                    excluded_reason=verdict.excluded_reason,
                    cues=verdict.cues,
                )
            )
        return findings
