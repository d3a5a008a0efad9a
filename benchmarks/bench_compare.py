"""How close compare() comes to the ideal: 100 sleeps of 0.1 s, speedup over ideal speedup.

python benchmarks/bench_compare.py [--quick]
"""

from __future__ import annotations

import asyncio
import sys

import asynckit


def measure(quick: bool = False) -> dict[str, float]:
    n, seconds = (20, 0.05) if quick else (100, 0.1)
    comparison = asyncio.run(asynckit.compare(lambda: [asynckit.sleep(seconds) for _ in range(n)]))
    return {"compare_efficiency": comparison.efficiency}


if __name__ == "__main__":
    for key, value in measure(quick="--quick" in sys.argv).items():
        print(f"{key:24} {value:10.3f}")
