"""Run every benchmark, print one table against the goals, and write the results.

    python benchmarks/run.py           # full: benchmarks/results.json, RESULTS.md, results.png
    python benchmarks/run.py --quick   # a short smoke run (CI), written under benchmarks/out/
    python benchmarks/run.py --python .venvs/3.13   # the overhead figures on more Pythons

What recording costs is measured in a fresh process, under this interpreter and every other one
given with ``--python`` (a python executable or a venv), and by default in a full run under each
venv in ``.venvs/``; the results show one row per Python version.

Each benchmark measures asynckit beside the bare alternative in the same run, taking turns, and
reports medians: this machine is shared and noisy, so only ratios measured side by side count.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bench_compare
import bench_fetch
import bench_live
import bench_loopwatch
import bench_magic
import bench_plot
import bench_server
import bench_spawn

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: key -> (what it is, goal as text, check of the figure against the goal or None if reported)
GOALS: dict[str, tuple[str, str, Callable[[float], bool] | None]] = {
    "record_us_per_span": (
        "µs to record a sleep: in a Timeline - outside",
        "<= 1.5",
        lambda v: v <= 1.5,
    ),
    "record_us_per_span_fastest": ("the same, fastest round of each", "reported", None),
    "overhead_ratio_10k": ("10,000 recorded sleeps / bare, CPU s", "<= 1.10", lambda v: v <= 1.10),
    "overhead_ratio_100k": ("100,000 recorded sleeps / bare, CPU s", "<= 1.2", lambda v: v <= 1.2),
    "rss_ratio_100k": ("peak memory, 100,000, recorded / bare", "<= 1.2", lambda v: v <= 1.2),
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
    "fetch_efficiency_cold_100_floor": (
        "the same cold, bare aiohttp client, canned server",
        "reported",
        None,
    ),
    "fetch_efficiency_warm_100_floor": (
        "the same warm, bare aiohttp client, canned server",
        "reported",
        None,
    ),
    "fetch_rps": ("fetch_json, requests per second", "reported", None),
    "fetch_ratio": ("fetch_json / bare session.get().json()", ">= 0.9", lambda v: v >= 0.9),
    "plot_10k_s": ("draw + save 10,000 spans (s)", "<= 0.2", lambda v: v <= 0.2),
    "plot_speedup": ("plot_timeline vs one barh per span", ">= 20", lambda v: v >= 20),
    "tasks_overhead_ratio": ("Timeline(tasks=True) / Timeline()", "<= 1.3", lambda v: v <= 1.3),
    "lag_overhead_ratio": ("Timeline(lag=True) / Timeline()", "<= 1.3", lambda v: v <= 1.3),
    "threads_overhead_ratio": (
        "2,000 empty to_thread calls, Timeline(tasks=True) / Timeline()",
        "reported",
        None,
    ),
    "magic_overhead_ratio": (
        "busy cell under %%timeline --lag / bare",
        "<= 1.15",
        lambda v: v <= 1.15,
    ),
    "magic_floor_ratio": (
        "same cell, only an empty done-callback per task / bare",
        "reported",
        None,
    ),
    "viztracer_overhead_ratio": ("same cell under VizTracer(log_async) / bare", "reported", None),
    "magic_draw_s": ("draw that cell's timeline as PNG (s)", "reported", None),
    "live_overhead_ratio": ("Timeline(live=True) / Timeline()", "<= 1.10", lambda v: v <= 1.10),
    "live_frame_ms": ("browser: draw 10,000 live spans (ms)", "<= 50", lambda v: v <= 50),
}

BENCHMARKS: list[Callable[[bool], dict[str, Any]]] = [
    bench_compare.measure,
    bench_server.measure,
    bench_fetch.measure,
    bench_plot.measure,
    bench_loopwatch.measure,
    bench_spawn.measure,
    bench_magic.measure,
    bench_live.measure,
]


#: The figures measured on every interpreter, by bench_overhead.py.
PER_PYTHON = [
    "record_us_per_span",
    "record_us_per_span_fastest",
    "overhead_ratio_10k",
    "overhead_ratio_100k",
    "rss_ratio_100k",
]


def interpreters(given: list[str]) -> list[Path]:
    """Python executables to measure besides this one: those given (an executable or a venv),
    or else each venv under .venvs/ (one per Python version)."""
    found = [Path(p) for p in given] or sorted((ROOT / ".venvs").glob("*/"))
    pythons = []
    for path in found:
        python = path / "bin" / "python" if path.is_dir() else path
        if not python.exists():
            raise SystemExit(f"no Python at {python}: give a python executable or a venv")
        if python.resolve() != Path(sys.executable).resolve():
            pythons.append(python)
    return pythons


def overhead_on(python: Path, quick: bool) -> dict[str, Any]:
    """bench_overhead.py's figures under an interpreter, in a process of its own, measuring
    this checkout."""
    command = [str(python), str(HERE / "bench_overhead.py"), "--json", *(["--quick"] * quick)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, cwd=HERE, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench_overhead.py failed under {python}:\n{done.stderr}")
    figures: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return figures


def per_python_table(by_python: dict[str, dict[str, Any]]) -> list[str]:
    goals = " | ".join(GOALS[key][1] for key in PER_PYTHON)
    lines = [
        "| Python | " + " | ".join(f"`{key}`" for key in PER_PYTHON) + " |",
        "|---" * (len(PER_PYTHON) + 1) + "|",
        f"| goal | {goals} |",
    ]
    for version, figures in sorted(by_python.items(), key=lambda item: _version(item[0])):
        cells = [_figure(key, figures[key], figures.get("intervals", {})) for key in PER_PYTHON]
        lines.append(f"| {version} | " + " | ".join(cells) + " |")
    return lines


def _figure(key: str, value: float, intervals: dict[str, list[float]], bold: bool = True) -> str:
    """A figure as the tables show it, then its 95% interval if it has one; in bold if it
    misses its goal and ``bold`` is true."""
    check = GOALS[key][2]
    missed = bold and check is not None and not check(value)
    text = f"**{value:,.3f}**" if missed else f"{value:,.3f}"
    if key in intervals:
        low, high = intervals[key]
        text += f" ({low:.3f} to {high:.3f})"
    return text


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


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
    lines = ["| key | what | measured (95% interval) | goal | met |", "|---|---|---|---|---|"]
    intervals = results.get("intervals", {})
    for key, (what, goal, check) in GOALS.items():
        if key in results:
            value = results[key]
            met = "reported" if check is None else ("yes" if check(value) else "**no**")
            measured = _figure(key, value, intervals, bold=False)
            lines.append(f"| `{key}` | {what} | {measured} | {goal} | {met} |")
    for library, seconds in results.get("spawn_10k_s", {}).items():
        lines.append(
            f"| `spawn_10k_s` | 10,000 tasks in {library} (s) | {seconds:.3f} | reported | |"
        )
    export = results.get("export_100k_s")
    if export:
        spans = f"{export['spans']:,.0f} spans"
        for step, goal in (("save", 1.0), ("load", 1.5)):
            value = export[step]
            met = "yes" if value <= goal else "**no**"
            lines.append(
                f"| `export_100k_s` | {step} of {spans} (s) | {value:.3f} | <= {goal} | {met} |"
            )
    if "magic_overhead_ratio" in results and "viztracer_overhead_ratio" in results:
        ours = results["magic_overhead_ratio"] - 1
        theirs = results["viztracer_overhead_ratio"] - 1
        met = "yes" if ours <= theirs / 5 else "**no**"
        lines.append(
            f"| `magic_vs_viztracer` | %%timeline's overhead / VizTracer's | "
            f"{ours / theirs if theirs > 0 else float('nan'):.3f} | <= 0.2 | {met} |"
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
        if GOALS[name][2] is not None:  # a figure only reported has no goal to draw
            ax.plot([float(goal)] * 2, [row - 0.4, row + 0.4], color="black", linestyle="--")
    ax.axvline(1.0, color="#999999", linewidth=0.8)
    ax.invert_yaxis()
    ax.set_xlabel("ratio, measured side by side (dashed: the goal)")
    ax.set_title("asynckit against the bare alternative", loc="left")
    fig.savefig(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument(
        "--python",
        action="append",
        default=[],
        help="also measure the overhead under this python or venv (repeatable; a full run "
        "measures every venv under .venvs/ when none is given)",
    )
    arguments = parser.parse_args()
    quick = arguments.quick or os.environ.get("BENCH_QUICK") == "1"
    others = interpreters(arguments.python) if arguments.python or not quick else []
    out = HERE / "out" if quick else HERE
    out.mkdir(exist_ok=True)

    results: dict[str, Any] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "quick": quick,
        "date": time.strftime("%Y-%m-%d"),
    }
    # What recording costs is measured in a process of its own under every interpreter, this
    # one included, so that each runs alike: this process has imported Trio, Curio, IPython
    # and matplotlib for the other benchmarks, which a notebook that uses asynckit need not.
    by_python: dict[str, dict[str, Any]] = {}
    for python in [Path(sys.executable), *others]:
        started = time.perf_counter()
        figures = overhead_on(python, quick)
        by_python[figures.pop("python")] = figures
        print(f"{'bench_overhead':18} {time.perf_counter() - started:6.1f} s  ({python})")
    ours = by_python[results["python"]]
    results.update({key: ours[key] for key in PER_PYTHON})
    results["intervals"] = dict(ours["intervals"])
    for benchmark in BENCHMARKS:
        started = time.perf_counter()
        figures = benchmark(quick)
        results["intervals"].update(figures.pop("intervals", {}))
        results.update(figures)
        print(f"{benchmark.__module__:18} {time.perf_counter() - started:6.1f} s", flush=True)
    results["by_python"] = by_python
    if not quick:
        results["course_s"] = course_seconds()

    lines = table(results)
    per_python = per_python_table(by_python)
    print("\n".join([*lines, "", *per_python]))
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    chart(results, out / "results.png")
    mode = "quick smoke run" if quick else "full run"
    (out / "RESULTS.md").write_text(
        f"# Benchmark results\n\nA {mode} of `make bench` on {results['date']}: Python "
        f"{results['python']}, {results['cpus']} CPUs. Each figure is a median of repetitions "
        "taken in turns with the bare alternative, in one run. In brackets, for the figures "
        "nearest their goals on a noisy machine: a 95% bootstrap interval of the figure, from "
        "its rounds drawn again with replacement (`benchmarks/_common.py`).\n\n"
        + "\n".join(lines)
        + "\n\n## What recording costs, per Python version\n\n"
        "Measured by `bench_overhead.py` under each interpreter in turn (bold: goal missed).\n\n"
        + "\n".join(per_python)
        + "\n\n![ratios against their goals](results.png)\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
