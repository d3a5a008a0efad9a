"""What Timeline(tasks=True) and Timeline(lag=True) cost over a plain Timeline: 10,000 tasks,
and 2,000 calls in threads with asyncio.to_thread (which tasks=True records too).

python benchmarks/bench_loopwatch.py [--quick]
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from _common import interleaved

import asynckit


async def _tasks(n: int, **options: Any) -> None:
    with asynckit.Timeline(**options):
        await asyncio.gather(*(asynckit.sleep(0.001) for _ in range(n)))


async def _thread_calls(n: int, **options: Any) -> None:
    with asynckit.Timeline(**options):
        for _ in range(n // 20):  # 20 at a time, as many threads as asyncio makes at most
            await asyncio.gather(*(asyncio.to_thread(int) for _ in range(20)))


def measure(quick: bool = False) -> dict[str, float]:
    n, calls, repeats = (2_000, 400, 3) if quick else (10_000, 2_000, 9)
    medians = interleaved(
        {
            "plain": lambda: asyncio.run(_tasks(n)),
            "tasks": lambda: asyncio.run(_tasks(n, tasks=True)),
            "lag": lambda: asyncio.run(_tasks(n, lag=True)),
            "plain threads": lambda: asyncio.run(_thread_calls(calls)),
            "tasks threads": lambda: asyncio.run(_thread_calls(calls, tasks=True)),
        },
        repeats,
    )
    return {
        "tasks_overhead_ratio": medians["tasks"] / medians["plain"],
        "lag_overhead_ratio": medians["lag"] / medians["plain"],
        "threads_overhead_ratio": medians["tasks threads"] / medians["plain threads"],
    }


if __name__ == "__main__":
    for key, value in measure(quick="--quick" in sys.argv).items():
        print(f"{key:24} {value:10.3f}")
