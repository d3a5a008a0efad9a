"""What recording costs: N concurrent asynckit.sleep in a Timeline against bare asyncio.sleep.

Both sleep 1 ms (real timers, as an I/O wait would use); the ratio of wall times, the extra
microseconds per span, and the ratio of peak memory (tracemalloc) are printed.

    python benchmarks/bench_overhead.py [--quick]
"""

from __future__ import annotations

import asyncio
import gc
import sys
import tracemalloc

from _common import interleaved

import asynckit

SLEEP = 0.001


async def _bare(n: int) -> None:
    await asyncio.gather(*(asyncio.sleep(SLEEP) for _ in range(n)))


async def _recorded(n: int) -> None:
    with asynckit.Timeline():
        await asyncio.gather(*(asynckit.sleep(SLEEP) for _ in range(n)))


def _peak_bytes(runner: object, n: int) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        asyncio.run(runner(n))  # type: ignore[operator]
        return float(tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()


def measure(quick: bool = False) -> dict[str, float]:
    repeats = 3 if quick else 11
    small, large = (2_000, 20_000) if quick else (10_000, 100_000)
    times = {}
    for n, rounds in ((small, repeats), (large, max(3, repeats // 2))):
        medians = interleaved(
            {
                "bare": lambda n=n: asyncio.run(_bare(n)),
                "recorded": lambda n=n: asyncio.run(_recorded(n)),
            },
            rounds,
        )
        times[n] = medians
    return {
        "overhead_ratio_10k": times[small]["recorded"] / times[small]["bare"],
        "overhead_ratio_100k": times[large]["recorded"] / times[large]["bare"],
        "rss_ratio_100k": _peak_bytes(_recorded, large) / _peak_bytes(_bare, large),
        "extra_us_per_span": (times[small]["recorded"] - times[small]["bare"]) / small * 1e6,
    }


if __name__ == "__main__":
    for key, value in measure(quick="--quick" in sys.argv).items():
        print(f"{key:24} {value:10.3f}")
