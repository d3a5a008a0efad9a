"""Running a coroutine to completion from synchronous code, inside a running loop or not."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import signal
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

__all__ = ["run"]

T = TypeVar("T")

#: The name of the thread run() runs a coroutine in, inside a running loop.
RUN_THREAD = "asynckit.run"


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous code, inside Jupyter or not.

    With no event loop running in this thread (a script, a test) it behaves like
    ``asyncio.run``. Inside a running loop (a Jupyter cell, where ``asyncio.run`` raises
    ``RuntimeError``) it runs the coroutine on a fresh event loop in a worker thread and waits
    for its result, carrying the current context along, so an active Timeline still records.
    Interrupting the kernel cancels the coroutine. It never patches asyncio (unlike
    ``nest_asyncio.apply()``, which slows every task of the kernel).

    The trade-off: the coroutine runs on another loop, so objects bound to the notebook's loop
    (an ``aiohttp.ClientSession``, a lock, a queue or a task created in an earlier cell) cannot
    be used inside it. Create them inside the coroutine instead, or just ``await`` it in the cell.

    Example::

        async def main():
            await asynckit.sleep(0.1)
            return "done"
        asynckit.run(main())
    """
    given: object = coro  # checked as given, without narrowing the coroutine's result type
    if not inspect.iscoroutine(given):
        raise TypeError(
            f"run() takes a coroutine object such as main(), not {type(coro).__name__}"
            + (" (call the function first)" if inspect.iscoroutinefunction(coro) else "")
        )
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    return _run_in_worker_thread(coro)


def _run_in_worker_thread(coro: Coroutine[Any, Any, T]) -> T:
    context = contextvars.copy_context()
    runner = asyncio.Runner(loop_factory=asyncio.new_event_loop)
    loop = runner.get_loop()
    outcome: dict[str, Any] = {}
    # Waiting on an Event rather than Thread.join: an interrupted join() can mark the thread
    # as stopped while it still runs (CPython gh-90882), and the cleanup must really be over.
    finished = threading.Event()

    def target() -> None:
        try:
            outcome["result"] = runner.run(coro, context=context)
        except BaseException as exc:  # handed back to the caller's thread below
            outcome["error"] = exc
        finally:
            runner.close()
            finished.set()

    threading.Thread(target=target, name=RUN_THREAD, daemon=True).start()
    try:
        with _interruptible():
            while not finished.wait(0.1):  # wakes now and then, so an interrupt is seen at once
                pass
    except BaseException as exc:  # KeyboardInterrupt from the kernel: cancel, wait, re-raise
        with contextlib.suppress(RuntimeError):  # the loop closed: it had finished anyway
            loop.call_soon_threadsafe(_cancel_all, loop)
        finished.wait()
        if isinstance(exc, KeyboardInterrupt):  # its traceback would end inside threading
            raise KeyboardInterrupt("run() cancelled the coroutine it was running") from None
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]  # type: ignore[no-any-return]


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """While the caller's loop is held up waiting, let Ctrl-C (a kernel interrupt) raise
    KeyboardInterrupt here. ipykernel runs a cell that awaits with a SIGINT handler of its own,
    which only asks the held-up loop to cancel the cell, later: it would never be heard."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only
        return
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous) or previous is signal.default_int_handler:
        yield  # ignored, the process's default, or already raising KeyboardInterrupt
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _cancel_all(loop: asyncio.AbstractEventLoop) -> None:
    for task in asyncio.all_tasks(loop):
        task.cancel()
