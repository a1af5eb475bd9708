"""Clinical NLP for free-text notes: a child's own disclosure that they do not feel safe."""

from ed_alerts.evaluation.text.corpus import CorpusReport, evaluate_corpus, format_report
from ed_alerts.evaluation.text.detector import DisclosureDetector
from ed_alerts.evaluation.text.findings import TextFinding, is_disclosure, positive

__all__ = [
    "CorpusReport",
    "DisclosureDetector",
    "TextFinding",
    "evaluate_corpus",
    "format_report",
    "is_disclosure",
    "positive",
]
