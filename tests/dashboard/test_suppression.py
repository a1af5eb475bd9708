"""Small-number suppression: counts, complements, shares, medians."""

from __future__ import annotations

from ed_alerts.dashboard.suppression import count_cell, count_cells, median_cell, protect, share_cell


def test_counts_below_the_threshold_are_hidden_zero_is_shown() -> None:
    assert count_cell(0, 5).text == "0"
    assert count_cell(4, 5).text == "<5" and count_cell(4, 5).suppressed and count_cell(4, 5).value is None
    assert count_cell(5, 5).text == "5"
    assert count_cell(1, 1).text == "1"  # a threshold of 1 turns suppression off


def test_a_lone_hidden_cell_takes_the_next_smallest_with_it() -> None:
    assert protect([3, 40, 12], 5) == {0, 2}  # else 3 = total - 40 - 12
    assert protect([3, 2, 40], 5) == {0, 1}  # two hidden: neither can be worked out
    assert protect([3, 0, 0], 5) == {0}  # nothing else to hide (the total is small too)
    assert [c.text for c in count_cells([3, 40, 12], 5)] == ["<5", "40", "<5"]


def test_shares_resting_on_few_children_are_withheld() -> None:
    assert share_cell(0, 0, 5).text == "–"
    assert share_cell(3, 4, 5).suppressed  # small denominator
    assert share_cell(2, 20, 5).suppressed  # small numerator
    assert share_cell(18, 20, 5).suppressed  # 2 late children are a small number too
    assert share_cell(20, 20, 5).text == "100%"
    assert share_cell(10, 20, 5).text == "50%"


def test_medians_need_enough_values() -> None:
    assert median_cell([1.0, 2.0], 5, 1.5).suppressed
    assert median_cell([0.5] * 5, 5, 0.5).text == "30 min"
    assert median_cell([30.0] * 5, 5, 30.0).text == "30.0 h"
    assert median_cell([], 5, None).text == "–"
