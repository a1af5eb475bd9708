"""DisclosureDetector: find a child's own disclosure that they do not feel safe in free text.

Build it once at start, from a rule folder: importing spaCy/medspaCy and compiling the templates
into ~6,000 matcher rules takes a few seconds on a CI-sized machine. `detect` then takes a few
milliseconds per triage note (median ~7 ms on the dev corpus).

With `model: {enabled: true}` in settings.yaml (off by default: rules/nlp/model/README.md), a
sentence model (model.py) also reads every sentence in which the rules found nothing, and reports
what it suspects as an uncertain `model_suspected` finding spanning the sentence; ConText's cues in
that sentence still decide whether it counts. That adds ~60-85 MB (the embedding weights, NumPy,
no torch) and a few ms for each sentence it reads (benchmarks/nlp_detector.py measures both).

Results are cached by text (A08 updates resend the same notes): findings are immutable.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ed_alerts.evaluation.text.assertion import assess, assess_sentence
from ed_alerts.evaluation.text.findings import TextFinding
from ed_alerts.evaluation.text.gate import TargetGate
from ed_alerts.evaluation.text.pipeline import build_pipeline
from ed_alerts.evaluation.text.rule_files import (
    RESERVED_CONCEPT,
    ConceptSpec,
    NlpRuleFolder,
    load_rule_folder,
)

if TYPE_CHECKING:
    import numpy as np
    from spacy.language import Language
    from spacy.tokens import Doc, Span

MODEL_CONCEPT = RESERVED_CONCEPT
_TARGETS, _CONTEXT = "medspacy_target_matcher", "medspacy_context"
_MATCHING_PIPES = frozenset({_TARGETS, _CONTEXT})
CACHE_SIZE = 2048  # distinct note texts kept; each entry is a few small frozen findings


class SentenceModel(Protocol):
    """What the detector needs of a sentence model (model.DisclosureModel, or a stub in tests)."""

    threshold: float

    def probabilities(self, sentences: list[str]) -> np.ndarray: ...


class DisclosureDetector:
    """Finds target-concept phrases and the ConText cues around them; see `detect`."""

    def __init__(
        self,
        nlp: Language,
        rules: NlpRuleFolder,
        model: SentenceModel | None = None,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        self._nlp = nlp
        self._rules = rules
        self._model = model
        self._concepts: dict[str, ConceptSpec] = {concept.name: concept for concept in rules.concepts}
        targets: Any = nlp.get_pipe(_TARGETS)  # medspaCy's TargetMatcher: its rules feed the gate
        self._targets, self._context = targets, nlp.get_pipe(_CONTEXT)
        # A rule without a token pattern (a phrase or regex rule) counts as matching anything.
        self._gate = TargetGate(
            rule.pattern if isinstance(rule.pattern, list) else []
            for rule in targets.rules
            if self._concepts[rule.category].report
        )
        self._cached = lru_cache(maxsize=cache_size)(self._detect) if cache_size else self._detect

    @classmethod
    def from_folder(cls, folder: Path, *, model: bool | None = None) -> DisclosureDetector:
        """Load and check the folder, then build the pipeline; raises RulePackError on a bad folder.

        `model` overrides settings.yaml `model.enabled` (None: as the folder says).
        """
        rules = load_rule_folder(folder)
        settings = rules.settings.model
        sentence_model: SentenceModel | None = None
        if settings.enabled if model is None else model:
            from ed_alerts.evaluation.text.model import DisclosureModel  # NumPy + tokenizers only then

            sentence_model = DisclosureModel.load(folder / "model", settings.threshold)
        return cls(build_pipeline(rules), rules, sentence_model)

    @property
    def rules_folder(self) -> Path:
        return self._rules.folder

    @property
    def exclusion_order(self) -> tuple[str, ...]:
        return self._rules.settings.exclusion_order

    @property
    def model(self) -> SentenceModel | None:
        return self._model

    @property
    def concepts(self) -> tuple[str, ...]:
        # model_suspected is always a known concept, so a rule pack naming it still loads when the
        # model is switched off in settings.yaml (it then simply never fires).
        reported = tuple(name for name, concept in self._concepts.items() if concept.report)
        return (*reported, MODEL_CONCEPT)

    def detect(self, text: str) -> list[TextFinding]:
        """Every target phrase in `text`, in text order, each with its context decision.

        When the sentence model is on, sentences where no phrase was found may add an uncertain
        `model_suspected` finding spanning the sentence.
        """
        if not text.strip():
            return []
        return list(self._cached(text))

    def with_model(self, model: SentenceModel | None) -> DisclosureDetector:
        """The same rules and pipeline with another sentence model (or none): for tests and tools."""
        return DisclosureDetector(self._nlp, self._rules, model)

    def cache_clear(self) -> None:
        if hasattr(self._cached, "cache_clear"):
            self._cached.cache_clear()

    def cache_info(self) -> object:
        return self._cached.cache_info() if hasattr(self._cached, "cache_info") else None

    def parse(self, text: str) -> tuple[Doc, list[TextFinding]]:
        """The processed document and the rules' findings alone (for training and review tools)."""
        doc = self._nlp(text)
        return doc, self._rule_findings(doc)

    def _detect(self, text: str) -> tuple[TextFinding, ...]:
        if self._model is None:
            return tuple(self._gated_findings(text))
        doc, findings = self.parse(text)
        if self._model is not None:
            findings = sorted(
                [*findings, *self._model_findings(doc, findings)], key=lambda f: (f.start, f.end)
            )
        return tuple(findings)

    def _gated_findings(self, text: str) -> list[TextFinding]:
        """The rules' findings, as `parse` gives them, at a fraction of the cost.

        Both the matcher and ConText stay inside a sentence (gaps never cross a sentence start; a
        cue's scope ends with its sentence), so matching each sentence on its own finds what
        matching the whole note finds. Only sentences the gate admits are matched, and a note none
        of whose words could start a finding is not even split into sentences.
        """
        doc = self._nlp.make_doc(text)
        if not self._gate.admits(t.lower_ for t in doc):
            return []
        for name, pipe in self._nlp.pipeline:
            if name in _MATCHING_PIPES:
                continue
            doc = pipe(doc)
        findings: list[TextFinding] = []
        for sent in doc.sents:
            if not self._gate.admits(t.lower_ for t in sent):
                continue
            part = self._targets(sent.as_doc())
            if not part.ents:
                continue  # ConText only qualifies targets: with none, it has nothing to say
            part = self._context(part)
            findings.extend(self._rule_findings(part, offset=sent.start_char))
        return findings

    def _rule_findings(self, doc: Doc, offset: int = 0) -> list[TextFinding]:
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
                    start=offset + target.start_char,
                    end=offset + target.end_char,
                    sentence=target.sent.text,
                    uncertain=verdict.uncertain,
                    third_party_report=verdict.third_party_report,
                    excluded_reason=verdict.excluded_reason,
                    cues=verdict.cues,
                )
            )
        return findings

    def rule_silent_sentences(self, doc: Doc, findings: Sequence[TextFinding]) -> list[Span]:
        """Sentences in which the rules found no phrase, counted or excluded: the model's to read."""
        taken = [(f.start, f.end) for f in findings]
        silent = []
        for sent in doc.sents:
            if all(t.is_punct or t.is_space for t in sent):
                continue
            first = next(t.i for t in sent if not t.is_space)
            span = doc[first : sent.end]  # without leading space ("\n  States ..." -> "States ...")
            while span and span[-1].is_space:
                span = span[:-1]
            if not any(start < span.end_char and span.start_char < end for start, end in taken):
                silent.append(span)
        return silent

    def _model_findings(self, doc: Doc, findings: Sequence[TextFinding]) -> list[TextFinding]:
        assert self._model is not None
        sentences = self.rule_silent_sentences(doc, findings)
        if not sentences:
            return []
        probabilities = self._model.probabilities([s.text for s in sentences])
        suspected: list[TextFinding] = []
        for sent, p in zip(sentences, probabilities, strict=True):
            if p < self._model.threshold:
                continue
            # The model says what it is like; ConText still says whose, when and whether.
            verdict = assess_sentence(sent, self._rules.settings.exclusion_order)
            suspected.append(
                TextFinding(
                    concept=MODEL_CONCEPT,
                    matched_text=sent.text,
                    start=sent.start_char,
                    end=sent.end_char,
                    sentence=sent.text,
                    uncertain=True,
                    third_party_report=verdict.third_party_report,
                    excluded_reason=verdict.excluded_reason,
                    cues=(f"model: p={p:.2f} similar to disclosures; no phrase matched", *verdict.cues),
                )
            )
        return suspected
