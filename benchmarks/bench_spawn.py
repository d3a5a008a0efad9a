"""Spawning and awaiting 10,000 trivial tasks in asyncio, Trio and Curio, side by side.

python benchmarks/bench_spawn.py [--quick]
"""

from __future__ import annotations

import asyncio
import sys

import curio
import trio
from _common import interleaved


async def _asyncio(n: int) -> None:
    async with asyncio.TaskGroup() as group:
        for _ in range(n):
            group.create_task(asyncio.sleep(0))


async def _trio(n: int) -> None:
    async with trio.open_nursery() as nursery:
        for _ in range(n):
            nursery.start_soon(trio.sleep, 0)


async def _curio(n: int) -> None:
    async with curio.TaskGroup() as group:
        for _ in range(n):
            await group.spawn(curio.sleep, 0)


def spawn_seconds(n: int, repeats: int) -> dict[str, float]:
    return interleaved(
        {
            "asyncio": lambda: asyncio.run(_asyncio(n)),
            "trio": lambda: trio.run(_trio, n),
            "curio": lambda: curio.run(_curio, n),
        },
        repeats,
    )


def measure(quick: bool = False) -> dict[str, dict[str, float]]:
    n, repeats = (2_000, 3) if quick else (10_000, 7)
    scale = 10_000 / n  # quick runs spawn fewer tasks; the figure is per 10,000 either way
    return {"spawn_10k_s": {k: v * scale for k, v in spawn_seconds(n, repeats).items()}}


if __name__ == "__main__":
    for library, seconds in measure(quick="--quick" in sys.argv)["spawn_10k_s"].items():
        print(f"spawn_10k_s {library:12} {seconds:10.3f}")
