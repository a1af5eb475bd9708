"""The one error a bad rule pack raises: which file, which field, and why."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one file of the pack."""

    file: str
    field: str  # a dotted path inside the file, e.g. "conditions.any[1].valueset"; "" for the whole file
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{where}: {self.reason}"


class RulePackError(ValueError):
    """A rule pack that must not be used. The service refuses to start with one.

    `.file`, `.field` and `.reason` describe the first problem found; `.problems` holds every
    problem so a reviewer can fix a file in one pass instead of one error per restart.
    """

    def __init__(self, problems: list[Problem]) -> None:
        if not problems:
            raise ValueError("RulePackError needs at least one problem")
        self.problems = list(problems)
        first = self.problems[0]
        self.file = first.file
        self.field = first.field
        self.reason = first.reason
        super().__init__(str(self))

    @classmethod
    def single(cls, file: str, field: str, reason: str) -> RulePackError:
        return cls([Problem(file, field, reason)])

    def __str__(self) -> str:
        lines = [f"invalid rule pack: {self.problems[0]}"]
        lines.extend(f"  also {p}" for p in self.problems[1:])
        return "\n".join(lines)
