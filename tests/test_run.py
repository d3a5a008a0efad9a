"""run(): like asyncio.run in a script, and still works inside a running loop (a Jupyter cell)."""

import _thread
import asyncio
import os
import signal
import threading
import time

import pytest

import asynckit
from asynckit._run import _run_in_worker_thread


async def answer(value=42, delay=0.01):
    await asynckit.sleep(delay, label="answer")
    return value


def test_without_a_running_loop_it_behaves_like_asyncio_run():
    assert asynckit.run(answer()) == 42
    # asyncio.run leaves no loop set behind it; neither does run().
    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()


def test_inside_a_running_loop_it_runs_on_a_worker_thread():
    threads = []

    async def where():
        threads.append(threading.current_thread().name)
        return await answer(7)

    async def cell():
        # What a Jupyter cell does: plain synchronous call while the kernel's loop runs.
        with pytest.raises(RuntimeError, match="running event loop"):
            coro = where()
            try:
                asyncio.run(coro)
            finally:
                coro.close()
        return asynckit.run(where())

    assert asyncio.run(cell()) == 7
    assert threads == ["asynckit.run"]


def test_an_active_timeline_records_what_runs_inside():
    async def cell():
        with asynckit.Timeline() as tl:
            asynckit.run(answer())
        return tl

    (s,) = asyncio.run(cell()).spans
    assert s.label == "answer" and s.thread == "asynckit.run"


def test_errors_propagate_unchanged_from_the_worker():
    error = LookupError("nope")

    async def fails():
        raise error

    async def cell():
        return asynckit.run(fails())

    with pytest.raises(LookupError) as info:
        asyncio.run(cell())
    assert info.value is error


def test_objects_bound_to_the_notebook_loop_fail_inside_and_the_docstring_says_so():
    async def cell():
        event = asyncio.Event()
        loop_future = asyncio.get_running_loop().create_future()

        async def uses_the_outer_future():
            await loop_future

        with pytest.raises(RuntimeError, match="attached to a different loop|different loop"):
            asynckit.run(uses_the_outer_future())
        return event

    asyncio.run(cell())
    assert "bound to the notebook's loop" in asynckit.run.__doc__


def test_it_refuses_what_is_not_a_coroutine():
    with pytest.raises(TypeError, match="call the function first"):
        asynckit.run(answer)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="coroutine object"):
        asynckit.run(42)  # type: ignore[arg-type]


def test_an_interrupt_cancels_the_coroutine_and_leaves_no_thread():
    cleaned = []

    async def long_job():
        try:
            await asyncio.sleep(30)
        finally:
            cleaned.append(True)

    timer = threading.Timer(0.2, _thread.interrupt_main)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        _run_in_worker_thread(long_job())
    timer.join()
    assert cleaned == [True]  # the coroutine's cleanup ran before run() gave up
    workers = [t for t in threading.enumerate() if t.name == "asynckit.run"]
    for worker in workers:
        worker.join(5)
    assert not [w for w in workers if w.is_alive()]


def test_an_interrupt_is_heard_in_a_cell_that_awaits():
    # ipykernel runs a cell that awaits with its own SIGINT handler, which only schedules a
    # cancel on the kernel's loop: run() holds that loop up, so it must hear the interrupt.
    cleaned, scheduled = [], []

    async def long_job():
        try:
            await asyncio.sleep(30)
        finally:
            cleaned.append(True)

    async def cell():
        loop = asyncio.get_running_loop()

        def kernel_handler(signum, frame):  # what ipykernel's _cancel_on_sigint installs
            scheduled.append(True)
            loop.call_soon_threadsafe(lambda: None)

        previous = signal.signal(signal.SIGINT, kernel_handler)
        try:
            threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
            started = time.perf_counter()
            with pytest.raises(KeyboardInterrupt):
                asynckit.run(long_job())
            assert time.perf_counter() - started < 15  # heard, not the 30 s of the job
            assert signal.getsignal(signal.SIGINT) is kernel_handler  # put back
        finally:
            signal.signal(signal.SIGINT, previous)

    asyncio.run(cell())
    assert cleaned == [True] and scheduled == []
