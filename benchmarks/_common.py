"""What every benchmark shares: interleaved repetitions and medians, on a noisy machine."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable


def interleaved(
    runs: dict[str, Callable[[], object]],
    repeats: int,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, float]:
    """Median seconds of each run, taking turns (A B C A B C ...) so that a burst of load on
    the machine hits them all alike. Wall seconds, unless ``clock`` is another clock (such
    as ``time.process_time``, this process's CPU seconds)."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            gc.collect()
            started = clock()
            run()
            times[name].append(clock() - started)
    return {name: statistics.median(values) for name, values in times.items()}
