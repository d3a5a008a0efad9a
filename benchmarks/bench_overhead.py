"""What recording costs: N concurrent asynckit.sleep in a Timeline against bare asyncio.sleep."""

from __future__ import annotations

import asyncio
import gc
import statistics
import sys
import time
import tracemalloc

import asynckit

SLEEP = 0.001  # real timers, as an I/O wait would use; 0 would measure only the yield


async def _bare(n: int) -> None:
    await asyncio.gather(*(asyncio.sleep(SLEEP) for _ in range(n)))


async def _recorded(n: int) -> None:
    with asynckit.Timeline():
        await asyncio.gather(*(asynckit.sleep(SLEEP) for _ in range(n)))


def _wall(runner: object, n: int) -> float:
    gc.collect()
    started = time.perf_counter()
    asyncio.run(runner(n))  # type: ignore[operator]
    return time.perf_counter() - started


def time_ratio(n: int, repeats: int) -> tuple[float, float, float]:
    """Median wall times of both, interleaved, and their ratio."""
    bare, recorded = [], []
    for _ in range(repeats):
        bare.append(_wall(_bare, n))
        recorded.append(_wall(_recorded, n))
    b, r = statistics.median(bare), statistics.median(recorded)
    return b, r, r / b


def peak_memory_ratio(n: int) -> tuple[float, float, float]:
    """Peak memory each run allocates (bytes, traced by tracemalloc) and their ratio."""

    def peak(runner: object) -> float:
        gc.collect()
        tracemalloc.start()
        try:
            asyncio.run(runner(n))  # type: ignore[operator]
            return float(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()

    bare, recorded = peak(_bare), peak(_recorded)
    return bare, recorded, recorded / bare


def measure(quick: bool = False) -> dict[str, float]:
    repeats = 3 if quick else 11
    small, large = (2_000, 20_000) if quick else (10_000, 100_000)
    bare_10k, recorded_10k, ratio_10k = time_ratio(small, repeats)
    _, _, ratio_100k = time_ratio(large, max(3, repeats // 2))
    _, _, rss_ratio = peak_memory_ratio(large)
    return {
        "overhead_ratio_10k": ratio_10k,
        "overhead_ratio_100k": ratio_100k,
        "rss_ratio_100k": rss_ratio,
        "extra_us_per_span": (recorded_10k - bare_10k) / small * 1e6,
    }


if __name__ == "__main__":
    for key, value in measure(quick="--quick" in sys.argv).items():
        print(f"{key:24} {value:10.3f}")
