"""What recording costs: asynckit.sleep in a Timeline, outside one, and bare asyncio.sleep.

Every figure comes from runs taken in turns, medians of repetitions, timed in CPU seconds of
this process (``time.process_time``), which leave out the time it waits for a CPU. Each run is
CPU-bound (the sleeps are 1 ms, the runs take 0.1 s and more), so its CPU and wall times agree.
Neither leaves out a CPU slowed down by its neighbours: on a shared virtual machine the same
run can take from 140 to 260 ms from one round to the next. Hence the turns, the medians of
many rounds, and the 95% interval given with each ratio (``intervals``).

- ``record_us_per_span``: what recording itself costs, in microseconds per span: one task
  awaits ``asynckit.sleep(0)`` many times inside a Timeline, then the same calls outside one
  (no timers and no crowd of tasks, so the difference is recording and little noise);
- ``record_us_per_span_fastest``: the same from the fastest round of each run, the cost with
  the machine at its full speed. A shared machine runs the same work at two speeds, one
  nearly twice the other, for seconds at a time (the calls outside a Timeline took 72 ms in
  some rounds and 130 ms in others of one run), and the median falls on the speed it ran at
  most: a figure in microseconds moves with it, where a ratio does not;
- ``overhead_ratio_10k`` and ``overhead_ratio_100k``: N concurrent sleeps of 1 ms (real
  timers, as an I/O wait would use), asynckit.sleep in a Timeline against bare asyncio.sleep,
  time over time;
- ``rss_ratio_100k``: the same two runs' peak memory (tracemalloc), recorded over bare.

    python benchmarks/bench_overhead.py [--quick] [--json]
"""

from __future__ import annotations

import asyncio
import gc
import json
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from _common import interval, ratio_of_medians, report, taken_in_turns

import asynckit

SLEEP = 0.001


async def _bare(n: int) -> None:
    await asyncio.gather(*(asyncio.sleep(SLEEP) for _ in range(n)))


async def _in_turn(n: int) -> None:
    sleep = asynckit.sleep
    for _ in range(n):
        await sleep(0)


async def _in_turn_recorded(n: int) -> None:
    with asynckit.Timeline():
        await _in_turn(n)


async def _recorded(n: int) -> None:
    with asynckit.Timeline():
        await asyncio.gather(*(asynckit.sleep(SLEEP) for _ in range(n)))


def _peak_bytes(runner: Callable[[int], Coroutine[Any, Any, None]], n: int) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        asyncio.run(runner(n))
        return float(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()


def measure(quick: bool = False) -> dict[str, Any]:
    repeats = 3 if quick else 21
    small, large = (2_000, 20_000) if quick else (10_000, 100_000)
    calls = 5_000 if quick else 20_000
    in_turn = taken_in_turns(
        {
            "outside": lambda: asyncio.run(_in_turn(calls)),
            "inside": lambda: asyncio.run(_in_turn_recorded(calls)),
        },
        repeats * 2,
        time.process_time,
    )

    def us_per_span(inside: Sequence[float], outside: Sequence[float]) -> float:
        return (statistics.median(inside) - statistics.median(outside)) / calls * 1e6

    inside, outside = in_turn["inside"], in_turn["outside"]
    figures: dict[str, Any] = {
        "record_us_per_span": us_per_span(inside, outside),
        "record_us_per_span_fastest": (min(inside) - min(outside)) / calls * 1e6,
    }
    intervals = {"record_us_per_span": interval(us_per_span, inside, outside)}
    for key, n, rounds in (
        ("overhead_ratio_10k", small, repeats * 2),
        ("overhead_ratio_100k", large, max(3, repeats // 2)),
    ):
        times = taken_in_turns(
            {
                "bare": lambda n=n: asyncio.run(_bare(n)),
                "recorded": lambda n=n: asyncio.run(_recorded(n)),
            },
            rounds,
            time.process_time,
        )
        figures[key] = ratio_of_medians(times["recorded"], times["bare"])
        intervals[key] = interval(ratio_of_medians, times["recorded"], times["bare"])
    figures["rss_ratio_100k"] = _peak_bytes(_recorded, large) / _peak_bytes(_bare, large)
    figures["intervals"] = intervals
    return figures


if __name__ == "__main__":
    figures = measure(quick="--quick" in sys.argv)
    if "--json" in sys.argv:  # how benchmarks/run.py reads it from another interpreter
        print(json.dumps({"python": platform.python_version(), **figures}))
    else:
        report(figures)
