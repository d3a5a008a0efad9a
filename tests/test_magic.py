"""%load_ext asynckit and %%timeline, run in a real IPython shell the way ipykernel runs a cell:
the cell as a task on the running loop, then the post_execute event, however the cell ended."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time

import pytest
from IPython.core.interactiveshell import InteractiveShell

import asynckit


@pytest.fixture(scope="module")
def api():
    with asynckit.start_server(latency=0.02) as server:
        yield server


@pytest.fixture
def shell():
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "asynckit")
    yield ip
    ip.run_line_magic("unload_ext", "asynckit")
    InteractiveShell.clear_instance()


async def run_cell(shell: InteractiveShell, cell: str, *, cancel_after: float | None = None):
    """Run ``cell`` as ipykernel does: transformed, in a task of its own on the running loop,
    then post_execute, even when the cell raised or its task was cancelled (an interrupt)."""
    transformed = shell.transform_cell(cell)
    task = asyncio.ensure_future(
        shell.run_cell_async(cell, store_history=False, transformed_cell=transformed)
    )
    if cancel_after is not None:
        asyncio.get_running_loop().call_later(cancel_after, task.cancel)
    try:
        return await task
    finally:
        shell.events.trigger("post_execute")


def loop_state(loop: asyncio.AbstractEventLoop):
    """Everything about the loop a recording could leave changed."""
    timers = [h for h in loop._scheduled if not h.cancelled()]  # type: ignore[attr-defined]
    return (
        loop.get_task_factory(),
        len(timers),
        loop.get_debug(),
        loop.get_exception_handler(),
        loop._default_executor,  # type: ignore[attr-defined]
        asyncio.Task,
        asyncio.Future,
    )


CELL = """\
%%timeline --lag --title "a busy cell" --out tl
import asyncio, aiohttp, time

async def nap(i):
    await asyncio.sleep(0.01 * (i % 5))
    return i

async def get(session, i):
    async with session.get(f"{url}/posts/{i % 100 + 1}") as response:
        return (await response.json())["id"]

naps = await asyncio.gather(*(nap(i) for i in range(1_000)))
async with asyncio.TaskGroup() as group:
    for i in range(500):
        group.create_task(nap(i))
await asyncio.to_thread(time.sleep, 0.01)
connector = aiohttp.TCPConnector(limit=10)
async with aiohttp.ClientSession(
    connector=connector, trace_configs=[asynckit.trace_config()]
) as session:
    ids = await asyncio.gather(*(get(session, i) for i in range(50)))
len(naps) + len(ids)
"""


def test_a_cell_is_recorded_unchanged_and_the_loop_left_as_it_was(shell, api, capsys):
    async def main():
        loop = asyncio.get_running_loop()
        await asyncio.to_thread(int)  # the cell's to_thread would make the default executor
        before = loop_state(loop)
        shell.user_ns.update(asynckit=asynckit, url=api.url)
        result = await run_cell(shell, CELL)
        return result, before, loop_state(loop)

    result, before, after = asyncio.run(main())
    assert result.success, result.error_in_exec
    assert after == before
    assert result.result == 1_050  # the cell's last value is still its result
    tl = shell.user_ns["tl"]
    assert isinstance(tl, asynckit.Timeline) and tl.name == "a busy cell"
    tasks = [s for s in tl.spans if s.kind == "task"]
    requests = [s for s in tl.spans if s.kind == "request"]
    assert len(tasks) >= 1_500 + 50  # gather's, the group's, the requests' (and aiohttp's own)
    assert len(requests) == 50 and all(s.detail.startswith("200") for s in requests)
    assert asynckit._timeline.peak_overlap(requests) <= 10
    assert tl.lag and tl.lag_samples
    # The cell's to_thread: a call in a worker thread's row, handed over by the cell's task.
    (handed,) = [s for s in tl.spans if s.kind == "thread"]
    assert handed.label == "sleep" and handed.parent == tl.main_task and handed.duration >= 0.01
    # Past 40 rows the tasks are packed into lanes: the thread keeps a row of its own.
    rows = [t.get_text() for t in tl.plot().get_yticklabels()]
    assert rows == [f"thread {handed.thread}", f"loop lag\n(max {tl.max_lag * 1000:.0f} ms)"]
    printed = capsys.readouterr().out
    (summary,) = [line for line in printed.splitlines() if " wall" in line]
    assert "wall" in summary and f"{len(tasks):,} tasks" in summary, printed
    assert "50 requests (at most" in summary and "longest loop lag" in summary
    assert "1 call in 1 thread" in summary
    assert "<Timeline 'a busy cell'" in printed  # displayed (as text, in a terminal shell)


def test_the_loop_is_restored_when_the_cell_raises(shell, capsys):
    async def main():
        loop = asyncio.get_running_loop()
        before = loop_state(loop)
        shell.user_ns["asynckit"] = asynckit
        result = await run_cell(
            shell,
            "%%timeline --lag --out failed\n"
            "await asynckit.sleep(0.01, label='before')\n"
            "import asyncio\n"
            "await asyncio.to_thread(abs, -1)\n"
            "raise ValueError('broken cell')\n",
        )
        return result, before, loop_state(loop)

    result, before, after = asyncio.run(main())
    assert isinstance(result.error_in_exec, ValueError)
    assert after == before  # the loop had no default executor, and has none again
    assert [s.label for s in shell.user_ns["failed"].spans] == ["before", "abs"]
    assert "wall" in capsys.readouterr().out  # the timeline up to the error still shows


def test_the_loop_is_restored_after_keyboard_interrupt_and_after_cancellation(shell):
    async def main():
        loop = asyncio.get_running_loop()
        before = loop_state(loop)
        shell.user_ns["asynckit"] = asynckit
        interrupted = await run_cell(
            shell,
            "%%timeline --lag --out first\n"
            "import asyncio\n"
            "waiting = asyncio.create_task(asyncio.sleep(10))\n"
            "await asynckit.sleep(0.01)\n"
            "raise KeyboardInterrupt\n",
        )
        waiting = shell.user_ns["waiting"]  # the cell's own task: ours to clean up
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        state_after_interrupt = loop_state(loop)
        cancelled = await run_cell(
            shell,
            "%%timeline --lag --out second\nawait asynckit.sleep(10, label='long')\n",
            cancel_after=0.05,  # what ipykernel does when the kernel is interrupted
        )
        state_after_cancel = loop_state(loop)
        # Interrupted while a thread works: the thread finishes on its own, after the cell.
        in_thread = await run_cell(
            shell,
            "%%timeline --out third\nimport time\nawait asyncio.to_thread(time.sleep, 0.3)\n",
            cancel_after=0.05,
        )
        return (
            before,
            interrupted,
            state_after_interrupt,
            cancelled,
            state_after_cancel,
            in_thread,
            loop_state(loop),
        )

    threads_before = threading.active_count()
    results = asyncio.run(main())
    before, interrupted, after_interrupt, cancelled, after_cancel, in_thread, after = results
    assert isinstance(interrupted.error_in_exec, KeyboardInterrupt)
    assert after_interrupt == before
    assert isinstance(cancelled.error_in_exec, asyncio.CancelledError)
    assert after_cancel == before
    (long,) = shell.user_ns["second"].spans
    assert long.label == "long" and long.error == "cancelled" and long.duration < 5
    assert isinstance(in_thread.error_in_exec, asyncio.CancelledError)
    assert after == before
    (sleeping,) = shell.user_ns["third"].spans  # the sleep ended after the cell: up to its end
    assert (sleeping.label, sleeping.kind, sleeping.detail) == ("sleep", "thread", "still running")
    deadline = time.monotonic() + 5  # the thread that slept exits once its sleep is over
    while threading.active_count() > threads_before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == threads_before


def test_work_a_cell_runs_in_threads_shows_on_a_row_per_thread_linked_to_its_task(shell, capsys):
    cell = """\
%%timeline --out tl
import asyncio, time

def blocking(seconds):
    time.sleep(seconds)
    return seconds

async def job(i):
    return await asyncio.to_thread(blocking, 0.05)

await asyncio.to_thread(blocking, 0.02)
async with asyncio.TaskGroup() as group:
    for i in range(2):
        group.create_task(job(i), name=f"job {i}")
"""

    async def main():
        return await run_cell(shell, cell)

    assert asyncio.run(main()).success
    tl = shell.user_ns["tl"]
    handed = [s for s in tl.spans if s.kind == "thread"]
    assert [s.label for s in handed] == ["blocking"] * 3
    # The cell's own call comes first; the jobs' two calls start together, in either order.
    assert handed[0].parent == tl.main_task
    assert sorted(s.parent for s in handed[1:]) == ["job 0", "job 1"]
    threads = sorted({f"thread {s.thread}" for s in handed})
    assert handed[1].thread != handed[2].thread  # the two jobs at once, in two threads
    ax = tl.plot()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["main", "job 0", "job 1", *threads]
    (links,) = [c for c in ax.collections if type(c).__name__ == "LineCollection"]
    assert len(links.get_segments()) == 3
    assert "3 calls in 2 threads" in capsys.readouterr().out


def test_no_asyncio_or_aiohttp_name_is_replaced(shell, api):
    import aiohttp

    def names():
        modules = (asyncio, asyncio.tasks, asyncio.events, aiohttp, aiohttp.client)
        return {(m.__name__, k): id(v) for m in modules for k, v in vars(m).items()}

    async def main():
        shell.user_ns.update(asynckit=asynckit, url=api.url)
        before = names()
        await run_cell(shell, "%%timeline\nawait asyncio.sleep(0)\n")
        return before, names()

    shell.user_ns["asyncio"] = asyncio
    before, after = asyncio.run(main())
    assert before == after


def test_an_existing_task_factory_is_composed_with_and_put_back(shell):
    made = []

    def factory(loop, coro, **kwargs):
        made.append(coro)
        return asyncio.Task(coro, loop=loop, **kwargs)

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_task_factory(factory)
        await run_cell(
            shell, "%%timeline --out tl\nimport asyncio\nawait asyncio.gather(asyncio.sleep(0))\n"
        )
        return loop.get_task_factory()

    assert asyncio.run(main()) is factory
    assert len(made) >= 2  # the cell's own task, and gather's, went through it
    assert [s.kind for s in shell.user_ns["tl"].spans] == ["task"]


def test_options_no_tasks_save_and_bad_options(shell, tmp_path, capsys):
    path = tmp_path / "cell.json"

    async def main():
        shell.user_ns["asynckit"] = asynckit
        ok = await run_cell(
            shell, f"%%timeline --no-tasks --save {path}\nawait asynckit.sleep(0.01, label='a')\n"
        )
        bad = await run_cell(shell, "%%timeline --colour red\nx = 1\n")
        bad_name = await run_cell(shell, "%%timeline --out 1x\nx = 1\n")
        return ok, bad, bad_name

    ok, bad, bad_name = asyncio.run(main())
    assert ok.success
    printed = capsys.readouterr()
    assert "tasks" not in printed.out.splitlines()[0]
    assert f"saved to {path}" in printed.out
    assert [s.label for s in asynckit.Timeline.load(path).spans] == ["a"]
    assert json.loads(path.read_text())["traceEvents"]
    assert not bad.success and "unrecognized arguments: --colour red" in printed.err
    assert not bad_name.success and "takes a variable name" in printed.err
    assert "x" not in shell.user_ns  # a cell with bad options does not run


def test_live_draws_while_the_cell_runs_and_shows_the_plot_once(shell, capsys, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **_: shown.append(obj))
    monkeypatch.setattr("asynckit._live.display", lambda obj, **_: shown.append(obj))

    async def main():
        shell.user_ns["asynckit"] = asynckit
        return await run_cell(
            shell, "%%timeline --live --out tl\nawait asynckit.sleep(0.01, label='a')\n"
        )

    assert asyncio.run(main()).success
    tl = shell.user_ns["tl"]
    assert tl.live and [s.label for s in tl.spans if s.kind == "sleep"] == ["a"]
    assert " wall · " in capsys.readouterr().out  # the summary, as without --live
    # No widget frontend here: the view shows the finished plot, and the magic does not again.
    assert shown == [tl]


def test_a_cell_without_await_and_a_cell_without_the_magic(shell, capsys):
    shell.user_ns["asynckit"] = asynckit
    result = shell.run_cell("%%timeline --out tl\nwith asynckit.span('sync'):\n    y = 2\ny * 3\n")
    assert result.success and result.result == 6
    assert [s.label for s in shell.user_ns["tl"].spans] == ["sync"]
    shell.run_cell("z = 1")  # no recording, nothing printed
    assert capsys.readouterr().out.count("wall") == 1


def test_trio_inside_the_cell_is_recorded_as_far_as_asynckit_sees(shell, capsys):
    pytest.importorskip("trio")
    cell = """\
%%timeline --out tl
import trio

async def main():
    async with trio.open_nursery() as nursery:
        for i in range(3):
            nursery.start_soon(asynckit.sleep, 0.02)

await asyncio.to_thread(trio.run, main)
"""

    async def main():
        shell.user_ns.update(asynckit=asynckit, asyncio=asyncio)
        return await run_cell(shell, cell)

    assert asyncio.run(main()).success
    tl = shell.user_ns["tl"]
    assert len([s for s in tl.spans if s.kind == "sleep"]) == 3
    assert "trio" in tl.libraries
    printed = capsys.readouterr().out
    assert "Trio ran in this cell" in printed and "3 spans recorded" in printed


def test_the_magic_leaves_no_thread_behind(shell):
    before = threading.active_count()

    async def main():
        shell.user_ns.update(asynckit=asynckit, asyncio=asyncio)
        await run_cell(
            shell, "%%timeline --lag\nawait asynckit.sleep(0.01)\nawait asyncio.to_thread(abs, 1)\n"
        )

    asyncio.run(main())
    assert threading.active_count() == before


def test_importing_asynckit_does_not_import_ipython_but_the_extension_does():
    import subprocess
    import sys

    code = (
        "import sys, asynckit\n"
        "assert 'IPython' not in sys.modules\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        "shell.run_line_magic('load_ext', 'asynckit')\n"
        "assert shell.find_cell_magic('timeline') is not None\n"
        "shell.run_line_magic('unload_ext', 'asynckit')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_registered_magic_explains_itself_when_reached_directly(shell):
    with contextlib.suppress(Exception), pytest.raises(asynckit.AsynckitError):
        shell.run_cell_magic("timeline", "", "x = 1")
    assert "--lag" in shell.find_cell_magic("timeline").__doc__


def test_a_cell_that_raises_stops_recording_before_its_traceback_is_drawn(shell, monkeypatch):
    # Drawing a traceback holds the loop up for a while: it is not the cell's doing, and must
    # not show as the cell's loop lag nor in its wall time.
    from asynckit import _magic

    seen = []
    draw = shell.showtraceback

    def showtraceback(*args, **kwargs):
        seen.append([r.timeline._recorder.closed for r in _magic._recording])
        return draw(*args, **kwargs)

    monkeypatch.setattr(shell, "showtraceback", showtraceback)

    class Own(Exception):
        pass

    handled = []
    shell.set_custom_exc((Own,), lambda shell, *exc, tb_offset=None: handled.append(exc[0]))
    own_handler = (shell.custom_exceptions, shell.CustomTB)

    async def main():
        shell.user_ns.update(asynckit=asynckit, Own=Own)
        raised = await run_cell(
            shell, "%%timeline --lag --out raised\nawait asynckit.sleep(0.1)\n1 / 0\n"
        )
        cancelled = await run_cell(
            shell, "%%timeline --out cancelled\nawait asynckit.sleep(10)\n", cancel_after=0.05
        )
        own = await run_cell(shell, "%%timeline --out own\nraise Own('theirs')\n")
        # The error of a cell run from inside the recorded one is not the end of it.
        inner = await run_cell(shell, "%%timeline --out outer\nget_ipython().run_cell('1 / 0')\n")
        return raised, cancelled, own, inner

    shell.user_ns["get_ipython"] = lambda: shell
    raised, cancelled, own, inner = asyncio.run(main())
    assert isinstance(raised.error_in_exec, ZeroDivisionError)
    assert isinstance(cancelled.error_in_exec, asyncio.CancelledError)
    assert isinstance(own.error_in_exec, Own) and handled == [Own]  # the shell's own handler
    assert inner.success
    # Drawn three times: the closed recording's traceback, the cancelled one's, and the inner
    # cell's while the outer one still recorded. The error of type Own went to its handler.
    assert seen == [[True], [True], [False]]
    assert (shell.custom_exceptions, shell.CustomTB) == own_handler  # put back
    tl = shell.user_ns["raised"]
    assert tl.max_lag < 0.5 * tl.elapsed  # what drawing the traceback blocked is not in it


def test_save_understands_a_home_path_and_out_refuses_keywords(shell, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))

    async def main():
        shell.user_ns["asynckit"] = asynckit
        saved = await run_cell(
            shell, "%%timeline --save ~/cell.json\nawait asynckit.sleep(0.01, label='a')\n"
        )
        keyword = await run_cell(shell, "%%timeline --out class\nx = 1\n")
        return saved, keyword

    saved, keyword = asyncio.run(main())
    assert saved.success and (tmp_path / "cell.json").exists()
    assert not keyword.success and "class" not in shell.user_ns


def test_a_coroutine_run_with_asynckit_run_is_said_to_be_seen_only_in_part(shell, capsys):
    async def main():
        shell.user_ns["asynckit"] = asynckit
        return await run_cell(
            shell,
            "%%timeline --out tl\n"
            "import asyncio\n"
            "async def main():\n"
            "    await asyncio.gather(*(asynckit.sleep(0.01) for _ in range(3)))\n"
            "asynckit.run(main())\n",
        )

    assert asyncio.run(main()).success
    summary, note = capsys.readouterr().out.splitlines()[:2]
    assert "0 tasks" in summary and len(shell.user_ns["tl"].spans) == 3
    assert note.startswith("asynckit.run() ran a coroutine on an event loop of its own")


def test_what_is_printed_under_the_cell_makes_no_span_objects(shell):
    """The summary and the notes read the spans as recorded: Span objects are made only when
    something reads them, such as the plot (for a busy cell, that takes milliseconds)."""
    shell.display_formatter.active_types = ["text/plain"]  # shown as text: nothing draws

    async def main():
        return await run_cell(
            shell,
            "%%timeline --lag --out tl\n"
            "import asyncio\n"
            "await asyncio.gather(*(asyncio.to_thread(sum, []) for _ in range(5)))\n",
        )

    assert asyncio.run(main()).success
    tl = shell.user_ns["tl"]
    assert tl._cache is None
    assert len(tl) == 5 + 5  # each call in a thread, and the task gather made for it
