"""What %%timeline --lag costs on a busy cell, beside VizTracer on the same cell, and how fast
a 100,000-span timeline saves and loads.

python benchmarks/bench_magic.py [--quick]

The cell: 2,000 tasks (sleeps in a gather and in a TaskGroup, one nap in forty also running a
call in a thread with asyncio.to_thread) and 200 requests to the local API through a session
with asynckit's trace config. Each run executes it in an IPython shell
the way ipykernel does (the cell as a task on the running loop, then post_execute): bare,
under %%timeline --lag, and bare under VizTracer with log_async=True (started and stopped
around the cell; its file is not written, so its figure is a lower bound).

Beside them runs the floor: the bare cell on a loop whose task factory only adds an empty
done-callback to each task. That is the least any tool pays to see when every task ends
without patching asyncio (a factory to meet each task, a callback to hear it end; asyncio
runs each callback through call_soon and a Handle), before it records anything.

The calls in threads weigh more in the ratio than their count suggests. A worker thread that
ends its call needs the GIL to hand back the result, and while the loop's thread computes
(recording, for one) the worker waits for it to let go: at the loop's next wait for I/O, or
after the interpreter's switch interval (5 ms). So the time recording adds to the loop's thread
also delays the last calls' results, and the cell's end with them. With the switch interval
set to 0.5 ms for a test, the same cell's ratio fell from 1.17 to 1.10.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import io
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _common import interval, ratio_of_medians, report, taken_in_turns

import asynckit

CELL = """\
async def nap(i):
    await asyncio.sleep(0.001 * (i % 10))
    if i % 40 == 0:
        await asyncio.to_thread(time.sleep, 0.001)

async def get(session, i):
    async with session.get(f"{url}/posts/{i % 100 + 1}") as response:
        return await response.read()

await asyncio.gather(*(nap(i) for i in range(1_000)))
async with asyncio.TaskGroup() as group:
    for i in range(800):
        group.create_task(nap(i))
connector = aiohttp.TCPConnector(limit=20)
async with aiohttp.ClientSession(
    connector=connector, trace_configs=[asynckit.trace_config()]
) as session:
    await asyncio.gather(*(get(session, i) for i in range(200)))
"""


def _shell(url: str) -> Any:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "asynckit")
    import aiohttp

    shell.user_ns.update(asyncio=asyncio, aiohttp=aiohttp, asynckit=asynckit, url=url, time=time)
    # Text output only: drawing the plot is the result shown, measured apart (magic_draw_s).
    shell.display_formatter.active_types = ["text/plain"]
    return shell


async def _run_cell(shell: Any, cell: str) -> None:
    transformed = shell.transform_cell(cell)
    task = asyncio.ensure_future(
        shell.run_cell_async(cell, store_history=False, transformed_cell=transformed)
    )
    try:
        result = await task
    finally:
        shell.events.trigger("post_execute")
    if not result.success:
        raise RuntimeError(f"the benchmark cell failed: {result.error_in_exec!r}")


async def _run_cell_seen(shell: Any, cell: str) -> None:
    """The cell, on a loop whose task factory adds an empty done-callback to each task."""
    loop = asyncio.get_running_loop()
    context = contextvars.Context()  # shared, as %%timeline's: no copy per callback

    def ignore(task: asyncio.Future[Any]) -> None:
        pass

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Future[Any]:
        task = asyncio.Task(coro, loop=loop, **kwargs)
        task.add_done_callback(ignore, context=context)
        return task

    loop.set_task_factory(factory)
    try:
        await _run_cell(shell, cell)
    finally:
        loop.set_task_factory(None)


def _draw_time(shell: Any) -> float:
    """Seconds to draw the recorded cell as the PNG a notebook shows, after a first drawing
    (which also loads matplotlib's fonts, once per kernel)."""
    from asynckit._plot import timeline_png

    with contextlib.redirect_stdout(io.StringIO()):
        asyncio.run(_run_cell(shell, "%%timeline --lag --out drawn\n" + CELL))
    timeline_png(shell.user_ns["drawn"])
    started = time.perf_counter()
    timeline_png(shell.user_ns["drawn"])
    return time.perf_counter() - started


def _cell_runs(shell: Any) -> dict[str, Any]:
    def bare() -> None:
        asyncio.run(_run_cell(shell, CELL))

    def magic() -> None:
        with contextlib.redirect_stdout(io.StringIO()):  # the summary and the text repr
            asyncio.run(_run_cell(shell, "%%timeline --lag\n" + CELL))

    def floor() -> None:
        asyncio.run(_run_cell_seen(shell, CELL))

    runs: dict[str, Any] = {"bare": bare, "magic": magic, "floor": floor}
    try:
        from viztracer import VizTracer
    except ImportError:
        print("viztracer is not installed (pip install -e '.[bench]'): not measured")
        return runs

    def viztracer() -> None:
        hook = threading.getprofile()
        tracer = VizTracer(log_async=True, verbose=0)
        tracer.start()
        try:
            asyncio.run(_run_cell(shell, CELL))
        finally:
            tracer.stop()
            tracer.clear()
            # VizTracer leaves its hook for new threads installed until the tracer is
            # collected, and the hook holds the tracer: without this, every thread started
            # by the runs that follow would be hooked, and each tracer's buffers kept.
            threading.setprofile(hook)

    runs["viztracer"] = viztracer
    return runs


async def _big_timeline(tasks: int) -> asynckit.Timeline:
    with asynckit.Timeline("100k", tasks=True) as tl:
        await asyncio.gather(*(asynckit.sleep(0) for _ in range(tasks)))
    return tl


def _export(quick: bool) -> dict[str, float]:
    tl = asyncio.run(_big_timeline(5_000 if quick else 50_000))
    tl.spans  # noqa: B018  (built once, as a notebook would have when it drew the plot)
    saves, loads = [], []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "trace.json"
        for _ in range(3 if quick else 5):
            started = time.perf_counter()
            tl.save(path)
            saves.append(time.perf_counter() - started)
            started = time.perf_counter()
            loaded = asynckit.Timeline.load(path)
            loaded.spans  # noqa: B018  (a loaded timeline read as a Timeline would be)
            loads.append(time.perf_counter() - started)
    return {"spans": float(len(tl)), "save": min(saves), "load": min(loads)}


def measure(quick: bool = False) -> dict[str, Any]:
    from IPython.core.interactiveshell import InteractiveShell

    with asynckit.start_server() as api:
        shell = _shell(api.url)
        try:
            times = taken_in_turns(_cell_runs(shell), 3 if quick else 31)
            draw_s = _draw_time(shell)
        finally:
            shell.run_line_magic("unload_ext", "asynckit")
            InteractiveShell.clear_instance()
    figures: dict[str, Any] = {
        "cell_bare_s": statistics.median(times["bare"]),
        "magic_overhead_ratio": ratio_of_medians(times["magic"], times["bare"]),
        "magic_floor_ratio": ratio_of_medians(times["floor"], times["bare"]),
        "magic_draw_s": draw_s,
        "intervals": {
            "magic_overhead_ratio": interval(ratio_of_medians, times["magic"], times["bare"]),
            "magic_floor_ratio": interval(ratio_of_medians, times["floor"], times["bare"]),
        },
    }
    if "viztracer" in times:
        figures["viztracer_overhead_ratio"] = ratio_of_medians(times["viztracer"], times["bare"])
    figures["export_100k_s"] = _export(quick)
    return figures


if __name__ == "__main__":
    report(measure(quick="--quick" in sys.argv))
