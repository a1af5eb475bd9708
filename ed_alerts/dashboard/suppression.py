"""Small-number suppression: what the ICB dashboard and its export may show.

- A count from 1 to `threshold - 1` is shown as "<threshold" (0 is shown: it identifies no one).
- Complementary suppression: where a column has a total and exactly one of its cells is suppressed,
  the next smallest non-zero cell is suppressed too, so the hidden one cannot be worked out by
  subtraction.
- A share (numerator of denominator) is withheld when the denominator is below the threshold, or
  when the numerator or what is left of the denominator (denominator - numerator) is a small number:
  "90% of 12" would otherwise give away the 1 child behind the other 10%.
- A median of fewer than `threshold` values is withheld.

Charts and exports take the same cells, so a value hidden in a table is hidden everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Cell:
    value: float | None  # None when suppressed or when there is nothing to show
    text: str  # what a page or an export shows
    suppressed: bool = False
    note: str = ""  # why it is withheld, for a screen reader or a tooltip

    def __str__(self) -> str:
        return self.text


NOT_APPLICABLE = Cell(None, "–", note="nothing to measure")


def small(n: int, threshold: int) -> bool:
    return 0 < n < threshold


def hidden(threshold: int) -> Cell:
    return Cell(None, f"<{threshold}", suppressed=True,
                note=f"suppressed: fewer than {threshold}")


def count_cell(n: int, threshold: int, *, suppress: bool = False) -> Cell:
    if suppress or small(n, threshold):
        return hidden(threshold)
    return Cell(float(n), str(n))


def protect(counts: Sequence[int], threshold: int) -> set[int]:
    """Indexes of `counts` to suppress: small ones, plus one complement when only one is small."""
    primary = {i for i, n in enumerate(counts) if small(n, threshold)}
    if len(primary) == 1:
        candidates = sorted((n, i) for i, n in enumerate(counts) if n > 0 and i not in primary)
        if candidates:
            primary.add(candidates[0][1])
    return primary


def count_cells(counts: Sequence[int], threshold: int) -> list[Cell]:
    """A column that has a total shown beside it: primary and complementary suppression."""
    withheld = protect(counts, threshold)
    return [count_cell(n, threshold, suppress=i in withheld) for i, n in enumerate(counts)]


def share_cell(numerator: int, denominator: int, threshold: int) -> Cell:
    if denominator == 0:
        return NOT_APPLICABLE
    if denominator < threshold or small(numerator, threshold) or small(denominator - numerator, threshold):
        return Cell(None, "withheld", suppressed=True,
                    note=f"withheld: based on fewer than {threshold} children")
    share = 100.0 * numerator / denominator
    return Cell(share, f"{share:.0f}%")


def median_cell(values: Sequence[float], threshold: int, median: float | None) -> Cell:
    if not values or median is None:
        return NOT_APPLICABLE
    if len(values) < threshold:
        return Cell(None, "withheld", suppressed=True,
                    note=f"withheld: fewer than {threshold} referrals")
    return Cell(median, format_hours(median))


def format_hours(hours: float) -> str:
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"
