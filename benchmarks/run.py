"""Run every benchmark, print one table against the goals, and write the results.

    python benchmarks/run.py           # full: benchmarks/results.json, RESULTS.md, results.png
    python benchmarks/run.py --quick   # a short smoke run (CI), written under benchmarks/out/

Each benchmark measures asynckit beside the bare alternative in the same run, taking turns, and
reports medians: this machine is shared and noisy, so only ratios measured side by side count.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bench_compare
import bench_fetch
import bench_loopwatch
import bench_overhead
import bench_plot
import bench_server
import bench_spawn

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: key -> (what it is, goal as text, check of the figure against the goal or None if reported)
GOALS: dict[str, tuple[str, str, Callable[[float], bool] | None]] = {
    "overhead_ratio_10k": ("10,000 recorded sleeps / bare", "<= 1.15", lambda v: v <= 1.15),
    "overhead_ratio_100k": ("100,000 recorded sleeps / bare", "<= 1.2", lambda v: v <= 1.2),
    "rss_ratio_100k": ("peak memory, 100,000, recorded / bare", "<= 1.2", lambda v: v <= 1.2),
    "extra_us_per_span": ("extra microseconds per recorded sleep", "<= 3", lambda v: v <= 3),
    "compare_efficiency": ("compare(): speedup / ideal speedup", ">= 0.9", lambda v: v >= 0.9),
    "server_rps": ("local API, requests per second", "reported", None),
    "server_ratio": ("local API / minimal aiohttp app, in processes", ">= 0.8", lambda v: v >= 0.8),
    "server_start_s": ("start_server() until listening (s)", "<= 1.5", lambda v: v <= 1.5),
    "slow_input_cpu_ms": ("server CPU ms, worst hostile request", "<= 5", lambda v: v <= 5),
    "cache_rss_mb_10k": ("server RSS after 10,000 queries (MB)", "<= 120", lambda v: v <= 120),
    "fetch_efficiency_cold_100": (
        "100 fetch_json of 0.1 s, cold: ideal/took",
        ">= 0.8",
        lambda v: v >= 0.8,
    ),
    "fetch_efficiency_warm_100": ("the same, warm connections", ">= 0.9", lambda v: v >= 0.9),
    "fetch_efficiency_cold_100_bare": ("the same cold, bare aiohttp both ends", "reported", None),
    "fetch_efficiency_warm_100_bare": ("the same warm, bare aiohttp both ends", "reported", None),
    "fetch_rps": ("fetch_json, requests per second", "reported", None),
    "fetch_ratio": ("fetch_json / bare session.get().json()", ">= 0.9", lambda v: v >= 0.9),
    "plot_10k_s": ("draw + save 10,000 spans (s)", "<= 0.2", lambda v: v <= 0.2),
    "plot_speedup": ("plot_timeline vs one barh per span", ">= 20", lambda v: v >= 20),
    "tasks_overhead_ratio": ("Timeline(tasks=True) / Timeline()", "<= 1.3", lambda v: v <= 1.3),
    "lag_overhead_ratio": ("Timeline(lag=True) / Timeline()", "<= 1.3", lambda v: v <= 1.3),
}

BENCHMARKS: list[Callable[[bool], dict[str, Any]]] = [
    bench_overhead.measure,
    bench_compare.measure,
    bench_server.measure,
    bench_fetch.measure,
    bench_plot.measure,
    bench_loopwatch.measure,
    bench_spawn.measure,
]


def course_seconds() -> dict[str, float]:
    """Execute every notebook (on copies, so the stored outputs stay as they are), each timed."""
    import shutil
    import tempfile

    sys.path.insert(0, str(ROOT / "tests"))
    from execute_notebooks import execute

    timings = {}
    with tempfile.TemporaryDirectory() as folder:
        for notebook in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
            copy = Path(folder) / notebook.name
            shutil.copy(notebook, copy)
            timings[notebook.stem] = execute(copy)
            print(f"  {notebook.stem:50} {timings[notebook.stem]:6.1f} s", flush=True)
    timings["all"] = sum(timings.values())
    return timings


def table(results: dict[str, Any]) -> list[str]:
    lines = ["| key | what | measured | goal | met |", "|---|---|---|---|---|"]
    for key, (what, goal, check) in GOALS.items():
        if key in results:
            value = results[key]
            met = "reported" if check is None else ("yes" if check(value) else "**no**")
            lines.append(f"| `{key}` | {what} | {value:,.3f} | {goal} | {met} |")
    for library, seconds in results.get("spawn_10k_s", {}).items():
        lines.append(
            f"| `spawn_10k_s` | 10,000 tasks in {library} (s) | {seconds:.3f} | reported | |"
        )
    for notebook, seconds in results.get("course_s", {}).items():
        lines.append(f"| `course_s` | {notebook} (s) | {seconds:.1f} | reported | |")
    return lines


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    ratios = {
        key: results[key]
        for key in GOALS
        if key.endswith(("ratio", "ratio_10k", "ratio_100k", "efficiency")) and key in results
    }
    fig = Figure(figsize=(8, 3.8), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    names = list(ratios)
    ax.barh(names, [ratios[n] for n in names], color="#4C72B0")
    for row, name in enumerate(names):
        goal = GOALS[name][1].split()[-1]
        ax.plot([float(goal)] * 2, [row - 0.4, row + 0.4], color="black", linestyle="--")
    ax.axvline(1.0, color="#999999", linewidth=0.8)
    ax.invert_yaxis()
    ax.set_xlabel("ratio, measured side by side (dashed: the goal)")
    ax.set_title("asynckit against the bare alternative", loc="left")
    fig.savefig(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    quick = parser.parse_args().quick or os.environ.get("BENCH_QUICK") == "1"
    out = HERE / "out" if quick else HERE
    out.mkdir(exist_ok=True)

    results: dict[str, Any] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "quick": quick,
        "date": time.strftime("%Y-%m-%d"),
    }
    for benchmark in BENCHMARKS:
        started = time.perf_counter()
        figures = benchmark(quick)
        results.update(figures)
        print(f"{benchmark.__module__:18} {time.perf_counter() - started:6.1f} s", flush=True)
    if not quick:
        results["course_s"] = course_seconds()

    lines = table(results)
    print("\n".join(lines))
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    chart(results, out / "results.png")
    mode = "quick smoke run" if quick else "full run"
    (out / "RESULTS.md").write_text(
        f"# Benchmark results\n\nA {mode} of `make bench` on {results['date']}: Python "
        f"{results['python']}, {results['cpus']} CPUs. Each figure is a median of repetitions "
        "taken in turns with the bare alternative, in one run.\n\n"
        + "\n".join(lines)
        + "\n\n![ratios against their goals](results.png)\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
