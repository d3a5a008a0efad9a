"""The benchmarks' shared arithmetic: the 95% interval printed beside a noisy ratio."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from _common import interval, ratio_of_medians


def test_the_interval_holds_the_figure_and_widens_with_the_noise():
    bare = [1.0, 1.02, 0.98, 1.01, 0.99, 1.0, 1.03, 0.97, 1.0, 1.01]
    quiet = [t * 1.1 for t in bare]
    noisy = [
        t * r
        for t, r in zip(bare, [1.1, 1.4, 0.8, 1.2, 1.0, 0.9, 1.3, 1.1, 0.85, 1.25], strict=True)
    ]

    low, high = interval(ratio_of_medians, quiet, bare)
    assert low == pytest.approx(1.1) and high == pytest.approx(1.1)  # same ratio every round
    low, high = interval(ratio_of_medians, noisy, bare)
    figure = ratio_of_medians(noisy, bare)
    assert low < figure < high and high - low > 0.1
    assert interval(ratio_of_medians, noisy, bare) == [low, high]  # seeded: repeatable


def test_rounds_are_drawn_together():
    # Each round's two times rise and fall together; resampling rounds keeps their ratio.
    load = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    low, high = interval(
        lambda a, b: statistics.median(a) / statistics.median(b), [2 * x for x in load], load
    )
    assert low == pytest.approx(2.0) and high == pytest.approx(2.0)


def test_too_few_or_unequal_rounds_are_refused():
    with pytest.raises(ValueError, match="at least two rounds"):
        interval(ratio_of_medians, [1.0], [1.0])
    with pytest.raises(ValueError, match="as many of each run"):
        interval(ratio_of_medians, [1.0, 2.0], [1.0, 2.0, 3.0])
