"""What every benchmark shares: interleaved repetitions and medians, on a noisy machine."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable


def interleaved(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median wall seconds of each run, taking turns (A B C A B C ...) so that a burst of load
    on the machine hits them all alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            gc.collect()
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}
