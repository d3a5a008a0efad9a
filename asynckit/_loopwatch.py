"""Watching the asyncio event loop: the lifetime of every task, and how late the loop runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from time import perf_counter
from typing import TYPE_CHECKING, Any

from ._errors import AsynckitError

if TYPE_CHECKING:
    from ._timeline import Timeline

__all__ = ["LagMeter", "TaskTracker", "running_loop"]

#: How often the lag meter asks the loop to wake it, in seconds.
LAG_INTERVAL = 0.005

TaskFactory = Callable[..., "asyncio.Future[Any]"]


def running_loop(feature: str) -> asyncio.AbstractEventLoop:
    """The running asyncio loop, or an error saying that ``feature`` needs one."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        raise AsynckitError(
            f"Timeline({feature}=True) watches the running asyncio event loop: enter it inside "
            "async code, such as a Jupyter cell or a coroutine run by asyncio.run()"
        ) from None


class TaskTracker:
    """Records each asyncio task created while it is installed as a span of kind "task".

    It installs a task factory that wraps whatever factory was there (composing with it, so
    eager tasks or a library's own factory keep working) and puts the previous one back when
    removed. The task itself is created exactly as before; only a done-callback is added, and it
    reads the outcome without marking an exception as retrieved, so "Task exception was never
    retrieved" still appears where it would have.
    """

    def __init__(self, timeline: Timeline, loop: asyncio.AbstractEventLoop) -> None:
        self._timeline = timeline
        self._loop = loop
        self._previous: TaskFactory | None = loop.get_task_factory()
        self._installed = False
        # Tasks under way: when each started, and its coroutine's name (for its label).
        self._started: dict[int, tuple[float, str | None]] = {}

    def install(self) -> None:
        self._loop.set_task_factory(self._factory)  # type: ignore[arg-type]
        self._installed = True

    def remove(self) -> None:
        if not self._installed:
            return
        self._installed = False
        self._started.clear()  # tasks still running are not recorded (the timeline is done)
        # Put the previous factory back only if nobody replaced ours meanwhile.
        if self._loop.get_task_factory() == self._factory:
            self._loop.set_task_factory(self._previous)

    def _factory(
        self, loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any
    ) -> asyncio.Future[Any]:
        if self._previous is not None:
            task = self._previous(loop, coro, **kwargs)
        else:
            task = asyncio.Task(coro, loop=loop, **kwargs)
        # Few allocations per task: every object made here counts towards the garbage
        # collector's next pass, which would slow the code under watch.
        # Keyed by id, not by the task: a task nobody else holds must stay collectable.
        self._started[id(task)] = (perf_counter(), getattr(coro, "__qualname__", None))
        task.add_done_callback(self._finished)
        return task

    def _finished(self, done: asyncio.Future[Any]) -> None:
        entry = self._started.pop(id(done), None)
        if entry is None:  # created before this tracker was installed
            return
        started, label = entry
        # Read the name now: create_task(name=...) names the task after the factory ran.
        name = done.get_name() if isinstance(done, asyncio.Task) else repr(done)
        if done.cancelled():
            error: str | None = "cancelled"
        else:
            exc = getattr(done, "_exception", None)  # exception() would mark it retrieved
            error = type(exc).__name__ if exc is not None else None
        self._timeline._add(label or name, "task", started, perf_counter(), name, error)


class LagMeter:
    """Measures how late the loop runs a callback due every few milliseconds.

    A loop that is free wakes it on time (a lag of a fraction of a millisecond); a blocking
    call holds everything up, and the first wake after it comes late by about as long as the
    call blocked. Samples are ``(time, lag)`` pairs in ``perf_counter()`` seconds.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float = LAG_INTERVAL) -> None:
        self._loop = loop
        self._interval = interval
        self.samples: list[tuple[float, float]] = []
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self._schedule()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _schedule(self) -> None:
        due = self._loop.time() + self._interval
        self._handle = self._loop.call_at(due, self._tick, due)

    def _tick(self, due: float) -> None:
        self.samples.append((perf_counter(), max(self._loop.time() - due, 0.0)))
        self._schedule()
