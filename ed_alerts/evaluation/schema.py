"""The rule file format: one pydantic model per predicate type, and the rule that composes them.

These models only describe and validate; `predicates/` evaluates them and `loader.py` reads files.
Every model forbids unknown keys, so a misspelt field in a rule file is an error, not a silent no-op.
"""

from __future__ import annotations

import re
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictFloat,
    StrictInt,
    field_validator,
    model_validator,
)

from ed_alerts.domain import SourceType
from ed_alerts.evaluation.durations import parse_duration
from ed_alerts.evaluation.phrases import DEFAULT_NEGATION_CUES, compile_cues, compile_phrase

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]

DEFAULT_MIN_AGE = 0
DEFAULT_MAX_AGE = 17  # a child: under 18 on the arrival date


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Higher is more urgent; flags are listed most urgent first."""
        return list(Severity).index(self)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- leaf predicates -------------------------------------------------------------------------

CodedField = Literal["diagnoses", "reason_code", "observation_value", "observation_code"]
DEFAULT_CODED_FIELDS: tuple[CodedField, ...] = ("diagnoses", "reason_code")


class CodedValueIn(_Model):
    """A diagnosis, the reason code, an observation's coded value or its code is in a value set."""

    type: Literal["coded_value_in"]
    valueset: str
    fields: list[CodedField] = Field(default_factory=lambda: list(DEFAULT_CODED_FIELDS), min_length=1)


class _ObservationQuestion(_Model):
    """Which observations a predicate looks at: one code, or any code in a value set."""

    question: str | None = Field(default=None, min_length=1)
    question_valueset: str | None = None

    @model_validator(mode="after")
    def _exactly_one_question(self) -> _ObservationQuestion:
        if (self.question is None) == (self.question_valueset is None):
            raise ValueError("give exactly one of 'question' (an observation code) or 'question_valueset'")
        return self


def _answers_are_text(value: object) -> object:
    if isinstance(value, list):
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise ValueError(f"answer {index + 1} ({item!r}) must be text; put it in quotes")
    return value


class AnswerEquals(_ObservationQuestion):
    """A structured answer (e.g. "Do you feel safe?" = No), compared without regard to case."""

    type: Literal["answer_equals"]
    answers: Annotated[list[str], BeforeValidator(_answers_are_text)] = Field(min_length=1)


class NumberAtLeast(_ObservationQuestion):
    """A numeric observation (e.g. number of assailants) at or above a threshold."""

    type: Literal["number_at_least"]
    at_least: StrictFloat | StrictInt


class TextDisclosure(_Model):
    """The clinical NLP detector finds one of these concepts, not negated or about someone else."""

    type: Literal["text_disclosure"]
    concepts: list[str] = Field(min_length=1)
    include_uncertain: bool = Field(default=True, description="hedged findings raise an uncertain flag")


class TextMentions(_Model):
    """Any of a list of phrases (regular expressions) in the reason or the notes, unless plainly negated."""

    type: Literal["text_mentions"]
    label: str | None = Field(default=None, description="what the phrases are, for the nurse: 'weapon word'")
    phrases: list[str] = Field(min_length=1)
    negation_cues: list[str] = Field(default_factory=lambda: list(DEFAULT_NEGATION_CUES))

    _patterns: tuple[re.Pattern[str], ...] = PrivateAttr(default=())
    _cues: re.Pattern[str] | None = PrivateAttr(default=None)

    @field_validator("phrases")
    @classmethod
    def _phrases_compile(cls, phrases: list[str]) -> list[str]:
        for index, phrase in enumerate(phrases):
            if not phrase.strip():
                raise ValueError(f"phrase {index + 1} is empty")
            try:
                compile_phrase(phrase)
            except re.error as exc:
                raise ValueError(f"phrase {index + 1} {phrase!r} is not a valid pattern: {exc}") from None
        return phrases

    def model_post_init(self, context: object, /) -> None:
        self._patterns = tuple(compile_phrase(p) for p in self.phrases)
        self._cues = compile_cues(self.negation_cues)

    @property
    def patterns(self) -> tuple[re.Pattern[str], ...]:
        return self._patterns

    @property
    def cues(self) -> re.Pattern[str] | None:
        return self._cues


class PriorAttendances(_Model):
    """The same child attended at least `at_least` times before, within `within` of this arrival."""

    type: Literal["prior_attendances"]
    at_least: int = Field(ge=1, strict=True)
    within: Duration


class HomeOutOfArea(_Model):
    """The home postcode district is not one the attending site serves. Unknown postcode: false."""

    type: Literal["home_out_of_area"]


class AgeBand(_Model):
    """Age in whole years on the arrival date is within [min_years, max_years]."""

    type: Literal["age_band"]
    min_years: int | None = Field(default=None, ge=0, strict=True)
    max_years: int | None = Field(default=None, ge=0, le=130, strict=True)

    @model_validator(mode="after")
    def _a_real_band(self) -> AgeBand:
        if self.min_years is None and self.max_years is None:
            raise ValueError("give min_years, max_years or both")
        if self.min_years is not None and self.max_years is not None and self.min_years > self.max_years:
            raise ValueError(f"min_years {self.min_years} is more than max_years {self.max_years}")
        return self


class SourceTypeIn(_Model):
    """The attendance came from one of these kinds of service (ED, ambulance...)."""

    type: Literal["source_type_in"]
    sources: list[SourceType] = Field(min_length=1)


LEAF_TYPES: dict[str, type[_Model]] = {
    "coded_value_in": CodedValueIn,
    "answer_equals": AnswerEquals,
    "number_at_least": NumberAtLeast,
    "text_disclosure": TextDisclosure,
    "text_mentions": TextMentions,
    "prior_attendances": PriorAttendances,
    "home_out_of_area": HomeOutOfArea,
    "age_band": AgeBand,
    "source_type_in": SourceTypeIn,
}

# --- composition -----------------------------------------------------------------------------


class AllOf(_Model):
    of: tuple[Predicate, ...] = Field(min_length=1)


class AnyOf(_Model):
    of: tuple[Predicate, ...] = Field(min_length=1)


class NotOf(_Model):
    of: Predicate


Leaf = (
    CodedValueIn
    | AnswerEquals
    | NumberAtLeast
    | TextDisclosure
    | TextMentions
    | PriorAttendances
    | HomeOutOfArea
    | AgeBand
    | SourceTypeIn
)
Predicate = AllOf | AnyOf | NotOf | Leaf
COMBINATORS = ("all", "any", "not")

AllOf.model_rebuild()
AnyOf.model_rebuild()
NotOf.model_rebuild()

# --- the rule --------------------------------------------------------------------------------


class AgeRange(_Model):
    """Ages in whole years on the arrival date, both ends included."""

    min: int = Field(default=DEFAULT_MIN_AGE, ge=0, strict=True)
    max: int = Field(default=DEFAULT_MAX_AGE, ge=0, le=130, strict=True)

    @model_validator(mode="after")
    def _ordered(self) -> AgeRange:
        if self.min > self.max:
            raise ValueError(f"min {self.min} is more than max {self.max}")
        return self

    def contains(self, years: int) -> bool:
        return self.min <= years <= self.max


class Consequences(_Model):
    raise_flag: bool = Field(default=True, description="false: evaluated but silent, to trial a rule")
    requires_decision: bool = False
    decision_due: Duration | None = None

    @model_validator(mode="after")
    def _due_needs_a_decision(self) -> Consequences:
        if self.decision_due is not None and not self.requires_decision:
            raise ValueError("decision_due is set but requires_decision is false")
        return self


class Rule(_Model):
    """One file in rules/pack/."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="stable: flags store it; never reuse one")
    version: int = Field(ge=1, strict=True, description="bump on every change a reviewer signs off")
    title: str = Field(min_length=1)
    rationale: str = Field(min_length=1)
    source: str = Field(min_length=1)
    ages: AgeRange = Field(default_factory=AgeRange)
    severity: Severity
    conditions: Predicate
    consequences: Consequences
