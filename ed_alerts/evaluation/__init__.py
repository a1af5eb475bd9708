"""Safeguarding rule evaluation: load the declarative pack in `rules/` and evaluate it.

No database, no HTTP, no clock: the only I/O is reading the pack.


- `load_pack(root)` reads `rules/pack/*.yaml` and `rules/valuesets/*.yaml`, or raises `RulePackError`.
- `evaluate(pack, ctx)` returns the flags one attendance raises, each with evidence and a reason.
- `check_text_concepts(pack, detector.concepts)` fails when a rule names a concept the detector lacks.
- `summarise_pack(pack)` prints what a pack contains, for review and for the start-up log.

The clinical NLP detector used by `text_disclosure` lives in `ed_alerts.evaluation.text`; the
engine only depends on the `TextDetector` protocol in `context.py`.
"""

from ed_alerts.evaluation.context import EvaluationContext, TextDetector, TextFindingLike
from ed_alerts.evaluation.engine import evaluate
from ed_alerts.evaluation.errors import Problem, RulePackError
from ed_alerts.evaluation.loader import DEFAULT_RULES_DIR, RulePack, check_text_concepts, load_pack
from ed_alerts.evaluation.results import Evidence, EvidenceKind, FlagResult
from ed_alerts.evaluation.schema import Rule, Severity
from ed_alerts.evaluation.summary import summarise_pack

__all__ = [
    "DEFAULT_RULES_DIR",
    "EvaluationContext",
    "Evidence",
    "EvidenceKind",
    "FlagResult",
    "Problem",
    "Rule",
    "RulePack",
    "RulePackError",
    "Severity",
    "TextDetector",
    "TextFindingLike",
    "check_text_concepts",
    "evaluate",
    "load_pack",
    "summarise_pack",
]
