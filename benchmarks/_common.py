"""What every benchmark shares: interleaved repetitions, medians, and how far a median can be
trusted on a noisy machine."""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any


def interleaved(
    runs: dict[str, Callable[[], object]],
    repeats: int,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, float]:
    """Median seconds of each run, taking turns (A B C A B C ...) so that a burst of load on
    the machine hits them all alike. Wall seconds, unless ``clock`` is another clock (such
    as ``time.process_time``, this process's CPU seconds)."""
    times = taken_in_turns(runs, repeats, clock)
    return {name: statistics.median(values) for name, values in times.items()}


def taken_in_turns(
    runs: dict[str, Callable[[], object]],
    repeats: int,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, list[float]]:
    """What :func:`interleaved` measures, every repetition kept: seconds of each run, round
    by round (the i-th time of every run comes from the same round)."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            gc.collect()
            started = clock()
            run()
            times[name].append(clock() - started)
    return times


def interval(
    figure: Callable[..., float], *rounds: Sequence[float], resamples: int = 2_000
) -> list[float]:
    """A 95% bootstrap interval of ``figure(*rounds)``, such as a ratio of two medians: the
    rounds are drawn again with replacement, ``resamples`` times, each round keeping its
    times together (they were taken in turns, under the same load), and the middle 95% of
    the figures is returned as [low, high]. Seeded, so the same times give the same interval.

    A wide interval says the machine was too noisy for the figure to settle a goal near it.
    """
    count = len(rounds[0])
    if count < 2 or any(len(times) != count for times in rounds):
        raise ValueError("interval() needs at least two rounds, as many of each run")
    draw = random.Random(0).choices
    figures = []
    for _ in range(resamples):
        picked = draw(range(count), k=count)
        figures.append(figure(*([times[i] for i in picked] for times in rounds)))
    figures.sort()
    return [figures[int(0.025 * resamples)], figures[int(0.975 * resamples) - 1]]


def ratio_of_medians(top: Sequence[float], bottom: Sequence[float]) -> float:
    return statistics.median(top) / statistics.median(bottom)


def report(figures: dict[str, Any]) -> None:
    """Print a benchmark's figures, one a line, each ratio with its interval if it has one."""
    intervals = figures.get("intervals", {})
    for key, value in figures.items():
        if key == "intervals":
            continue
        line = f"{key:32} {value:10.3f}" if isinstance(value, float) else f"{key:32} {value}"
        if key in intervals:
            low, high = intervals[key]
            line += f"   95%: {low:.3f} to {high:.3f}"
        print(line)
