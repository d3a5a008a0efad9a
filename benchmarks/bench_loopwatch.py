"""What Timeline(tasks=True) and Timeline(lag=True) cost over a plain Timeline: 10,000 tasks.

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


def measure(quick: bool = False) -> dict[str, float]:
    n, repeats = (2_000, 3) if quick else (10_000, 9)
    medians = interleaved(
        {
            "plain": lambda: asyncio.run(_tasks(n)),
            "tasks": lambda: asyncio.run(_tasks(n, tasks=True)),
            "lag": lambda: asyncio.run(_tasks(n, lag=True)),
        },
        repeats,
    )
    return {
        "tasks_overhead_ratio": medians["tasks"] / medians["plain"],
        "lag_overhead_ratio": medians["lag"] / medians["plain"],
    }


if __name__ == "__main__":
    for key, value in measure(quick="--quick" in sys.argv).items():
        print(f"{key:24} {value:10.3f}")
