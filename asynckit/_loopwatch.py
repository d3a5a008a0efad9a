"""Watching the asyncio event loop: the lifetime of every task, and how late the loop runs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from contextvars import ContextVar, Token
from time import perf_counter
from typing import TYPE_CHECKING, Any, ClassVar

from ._errors import AsynckitError
from ._library import task_name

if TYPE_CHECKING:
    from ._timeline import Recorder

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

    While any tracker is installed on a loop, the loop has one task factory of asynckit's
    (a :class:`LoopFactory`), which wraps whatever factory was there before the first one came
    (composing with it, so eager tasks or a library's own factory keep working) and puts it
    back when the last one leaves, in whatever order they leave. The task itself is created
    exactly as before; only a done-callback is added, and it reads the outcome without marking
    an exception as retrieved, so "Task exception was never retrieved" still appears where it
    would have.
    """

    def __init__(self, recorder: Recorder, loop: asyncio.AbstractEventLoop) -> None:
        self.recorder = recorder
        self.loop = loop
        #: The tracker that was innermost in this context when this one was installed.
        self.parent: TaskTracker | None = None
        self._factory: LoopFactory | None = None
        self._token: Token[TaskTracker | None] | None = None
        # Tasks under way: when each started, and its coroutine's name (for its label).
        # Keyed by id, not by the task: a task nobody else holds must stay collectable. An
        # entry leaves when its task is done, before the task can be collected and its id
        # reused.
        self._started: dict[int, tuple[float, str | None]] = {}

    def install(self) -> None:
        self.parent = _tracking.get()
        self._token = _tracking.set(self)
        self._factory = LoopFactory.push(self)

    def remove(self) -> None:
        factory, self._factory = self._factory, None
        if factory is None:
            return
        factory.pop(self)
        self._started.clear()  # tasks still running are not recorded (the timeline is done)
        token, self._token = self._token, None
        if token is not None:
            with contextlib.suppress(ValueError):  # left in another context than entered
                _tracking.reset(token)

    def watches(self, factory: LoopFactory) -> bool:
        """Whether this tracker is installed in ``factory`` (not removed, not another loop's)."""
        return self._factory is factory

    def created(self, task: asyncio.Future[Any], started: float, coro: object) -> None:
        """Watch ``task``, created at ``started`` (a ``perf_counter()`` reading)."""
        # Few allocations per task: every object made here counts towards the garbage
        # collector's next pass, which would slow the code under watch.
        self._started[id(task)] = (started, getattr(coro, "__qualname__", None))
        task.add_done_callback(self._finished)

    def _finished(self, done: asyncio.Future[Any]) -> None:
        entry = self._started.pop(id(done), None)
        if entry is None:  # created before this tracker was installed, or it was removed
            return
        started, label = entry
        if done.cancelled():
            error: str | None = "cancelled"
        else:
            exc = getattr(done, "_exception", None)  # exception() would mark it retrieved
            error = type(exc).__name__ if exc is not None else None
        # The row is read now: create_task(name=...) names the task after the factory ran.
        recorder = self.recorder
        recorder.add(
            label or task_name(done), "task", started, perf_counter(), recorder.row(done), error
        )


_tracking: ContextVar[TaskTracker | None] = ContextVar("asynckit_task_tracker", default=None)


class LoopFactory:
    """The one task factory asynckit installs on a loop while trackers are installed on it.

    Each task is recorded once, by the innermost tracker installed in the context that creates
    it, or, when that context has none (a task a server creates for a connection, say), by the
    tracker installed last. When the last tracker leaves, the factory that was there before the
    first one came is put back; if other code replaced this factory meanwhile, theirs stays.
    """

    _by_loop: ClassVar[dict[asyncio.AbstractEventLoop, LoopFactory]] = {}

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.previous: TaskFactory | None = loop.get_task_factory()
        self.trackers: list[TaskTracker] = []

    @classmethod
    def push(cls, tracker: TaskTracker) -> LoopFactory:
        factory = cls._by_loop.get(tracker.loop)
        if factory is None:
            factory = cls._by_loop[tracker.loop] = cls(tracker.loop)
            tracker.loop.set_task_factory(factory)  # type: ignore[arg-type]
        factory.trackers.append(tracker)
        return factory

    def pop(self, tracker: TaskTracker) -> None:
        self.trackers.remove(tracker)
        if self.trackers:
            return
        del self._by_loop[self.loop]
        installed: object = self.loop.get_task_factory()
        if installed is self:
            self.loop.set_task_factory(self.previous)

    def __call__(
        self, loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any
    ) -> asyncio.Future[Any]:
        # Read before the task exists: an eager task (Python 3.12+) runs its first step inside
        # the factory, and that step belongs to its lifetime.
        started = perf_counter()
        if self.previous is not None:
            task = self.previous(loop, coro, **kwargs)
        else:
            task = asyncio.Task(coro, loop=loop, **kwargs)
        tracker = _tracking.get()
        while tracker is not None and not tracker.watches(self):
            tracker = tracker.parent
        if tracker is None and self.trackers:
            tracker = self.trackers[-1]
        if tracker is not None:
            tracker.created(task, started, coro)
        return task


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
