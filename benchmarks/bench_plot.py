"""Drawing 10,000 spans and saving them to PNG: plot_timeline against one barh per span.

python benchmarks/bench_plot.py [--quick]
"""

from __future__ import annotations

import io
import sys
import time

import matplotlib
from _common import interleaved

matplotlib.use("Agg")

from matplotlib.figure import Figure

import asynckit
from asynckit._timeline import active_recorder


def _timeline(n: int) -> asynckit.Timeline:
    """A timeline of n spans over n tasks, packed into lanes when drawn, without sleeping."""
    tl = asynckit.Timeline()
    with tl:
        recorder = active_recorder()
        assert recorder is not None
        origin = time.perf_counter()
        for i in range(n):
            start = origin + (i % 100) * 0.001
            recorder.add(f"s{i}", "sleep", start, start + 0.05, f"task {i}")
    return tl


def _with_asynckit(tl: asynckit.Timeline) -> None:
    fig = Figure(figsize=(9, 4), dpi=100)
    asynckit.plot_timeline(tl, ax=fig.add_subplot())
    fig.savefig(io.BytesIO(), format="png")


def _one_barh_per_span(tl: asynckit.Timeline) -> None:
    fig = Figure(figsize=(9, 4), dpi=100)
    ax = fig.add_subplot()
    for row, span in enumerate(tl.spans):
        ax.barh(row % 100, span.duration, left=span.start, height=0.7, color="#4C72B0")
    fig.savefig(io.BytesIO(), format="png")


def measure(quick: bool = False) -> dict[str, float]:
    n, repeats = (2_000, 3) if quick else (10_000, 5)
    tl = _timeline(n)
    medians = interleaved(
        {"asynckit": lambda: _with_asynckit(tl), "barh": lambda: _one_barh_per_span(tl)},
        repeats,
    )
    return {
        "plot_10k_s": medians["asynckit"],
        "plot_speedup": medians["barh"] / medians["asynckit"],
    }


if __name__ == "__main__":
    for key, value in measure(quick="--quick" in sys.argv).items():
        print(f"{key:24} {value:10.3f}")
