"""Watching the asyncio event loop: the lifetime of every task, the work it hands to threads,
and how late the loop runs."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextvars import Context, ContextVar, Token
from time import perf_counter
from typing import TYPE_CHECKING, Any, ClassVar, ParamSpec, TypeVar

from ._errors import AsynckitError
from ._library import error_name, task_name

if TYPE_CHECKING:
    from ._timeline import Recorder, Row

__all__ = ["LagMeter", "LoopExecutor", "TaskTracker", "running_loop", "work_label"]

#: How often the lag meter asks the loop to wake it, in seconds.
LAG_INTERVAL = 0.005

TaskFactory = Callable[..., "asyncio.Future[Any]"]
P = ParamSpec("P")
T = TypeVar("T")


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
        # reused. Two dicts of plain values, not one of (start, name) tuples: a dict that holds
        # only numbers and text stays out of the garbage collector's sight, while one of fresh
        # tuples would be handed back to it at every new task, and every pass of the collector
        # would then go through all the tasks under way.
        self._started: dict[int, float] = {}
        self._labels: dict[int, str | None] = {}
        # Calls under way in worker threads, by thread (a worker runs one call at a time):
        # what each runs, when it began, its thread's name, and the row of the task that
        # handed it over.
        self.in_threads: dict[int, tuple[str, float, str, Row]] = {}
        # Bound once: a bound method made per task would be one more allocation per task.
        self._on_done = self._finished
        # The context the done-callback runs in, shared: it reads no context variable, and
        # without one the task would copy the current context for each callback.
        self._context = Context()

    def install(self) -> None:
        self.parent = _tracking.get()
        self._token = _tracking.set(self)
        self._factory = LoopFactory.push(self)

    def remove(self) -> None:
        factory, self._factory = self._factory, None
        if factory is None:
            return
        factory.pop(self)
        self._record_unfinished()
        self._record_unfinished_calls()
        token, self._token = self._token, None
        if token is not None:
            with contextlib.suppress(ValueError):  # left in another context than entered
                _tracking.reset(token)

    def _record_unfinished(self) -> None:
        """Record each task still running as the timeline ends as a span up to now, with the
        detail "still running" (when it will end is not known), and stop watching them."""
        started, self._started = self._started, {}
        labels, self._labels = self._labels, {}
        if not started:
            return
        now = perf_counter()
        # A task under way is alive, so its id is its own: an entry's id is reused only after
        # its task was collected before it finished, which asyncio reports as a bug of its own.
        for task in asyncio.all_tasks(self.loop):
            begun = started.get(id(task))
            if begun is not None:
                label = labels.get(id(task))
                row = self.recorder.row(task)
                label = label or task_name(task)
                self.recorder.add(label, "task", begun, now, row, None, "still running")

    def _record_unfinished_calls(self) -> None:
        """Record each call still running in a worker thread as the timeline ends as a span up
        to now, in its thread's row, with the detail "still running"."""
        under_way, self.in_threads = self.in_threads.copy(), {}  # a copy: threads change it
        now = perf_counter()
        for label, begun, thread, parent in under_way.values():
            self.recorder.add(
                label, "thread", begun, now, None, None, "still running", parent, thread
            )

    def watches(self, factory: LoopFactory) -> bool:
        """Whether this tracker is installed in ``factory`` (not removed, not another loop's)."""
        return self._factory is factory

    def _finished(self, done: asyncio.Future[Any]) -> None:
        key = id(done)
        started = self._started.pop(key, None)
        if started is None:  # created before this tracker was installed, or it was removed
            return
        label = self._labels.pop(key)
        if done.cancelled():
            error: str | None = "cancelled"
        else:
            exc = getattr(done, "_exception", None)  # exception() would mark it retrieved
            error = type(exc).__name__ if exc is not None else None
        # The row is read now: create_task(name=...) names the task after the factory ran.
        end = perf_counter()
        self.recorder.record_finished(label or task_name(done), "task", started, end, done, error)

    def thread_work(self, fn: Callable[P, T]) -> Callable[P, T]:
        """``fn``, recording itself as a span of kind "thread" when a worker thread runs it,
        with the task handing it over (if any, on the loop's own thread) as its parent."""
        task = asyncio.current_task(self.loop) if _running_loop() is self.loop else None
        # A partial, not an object of ours: cheaper to make, for every call handed over.
        return functools.partial(_run_recorded, self, self.recorder.row(task), fn)


_running_loop = asyncio._get_running_loop


def _run_recorded(
    tracker: TaskTracker, parent: Row, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
) -> Any:
    """Call ``fn`` in a worker thread and record the call as a "thread" span in that thread's
    row (a span with no task goes in its thread's row: Span.lane). While it runs, the tracker
    knows of it, to record it as still running if the timeline ends first."""
    recorder, label, thread = tracker.recorder, work_label(fn), threading.get_ident()
    start = perf_counter()
    tracker.in_threads[thread] = (label, start, threading.current_thread().name, parent)
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:
        recorder.add(label, "thread", start, perf_counter(), None, error_name(exc), None, parent)
        raise
    finally:
        tracker.in_threads.pop(thread, None)
    recorder.add(label, "thread", start, perf_counter(), None, None, None, parent)
    return result


def work_label(fn: Callable[..., Any]) -> str:
    """The name of the function that calling ``fn`` runs, seeing through functools.partial and
    through the ``partial(context.run, func, ...)`` that asyncio.to_thread hands over."""
    while isinstance(fn, functools.partial):
        if isinstance(getattr(fn.func, "__self__", None), Context) and fn.args:
            fn = fn.args[0]  # context.run(func, *args): the function is its first argument
        else:
            fn = fn.func
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    return name if isinstance(name, str) else type(fn).__name__


_tracking: ContextVar[TaskTracker | None] = ContextVar("asynckit_task_tracker", default=None)


class LoopFactory:
    """The one task factory asynckit installs on a loop while trackers are installed on it,
    with the one default executor (a :class:`LoopExecutor`).

    Each task, and each function handed to the default executor, is recorded once, by the
    innermost tracker installed in the context that creates it, or, when that context has none
    (a task a server creates for a connection, say), by the tracker installed last. When the
    last tracker leaves, the factory and the default executor that were there before the first
    one came are put back; if other code replaced either meanwhile, theirs stays.
    """

    _by_loop: ClassVar[dict[asyncio.AbstractEventLoop, LoopFactory]] = {}

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.previous: TaskFactory | None = loop.get_task_factory()
        self.trackers: list[TaskTracker] = []
        self.executor: LoopExecutor | None = None
        # What the loop is given as its task factory: this bound method, made once (the loop
        # calls it faster than it would call this object through a __call__ method).
        self.create_task = self._create_task

    @classmethod
    def push(cls, tracker: TaskTracker) -> LoopFactory:
        factory = cls._by_loop.get(tracker.loop)
        if factory is None:
            factory = cls._by_loop[tracker.loop] = cls(tracker.loop)
            tracker.loop.set_task_factory(factory.create_task)  # type: ignore[arg-type]
            factory.executor = LoopExecutor.install(factory)
        factory.trackers.append(tracker)
        return factory

    def pop(self, tracker: TaskTracker) -> None:
        self.trackers.remove(tracker)
        if self.trackers:
            return
        del self._by_loop[self.loop]
        installed: object = self.loop.get_task_factory()
        if installed is self.create_task:
            self.loop.set_task_factory(self.previous)
        if self.executor is not None:
            self.executor.remove()

    def tracker(self) -> TaskTracker | None:
        """The tracker that records what the current context starts, if any."""
        tracker = _tracking.get()
        while tracker is not None and not tracker.watches(self):
            tracker = tracker.parent
        if tracker is None and self.trackers:
            tracker = self.trackers[-1]
        return tracker

    def _create_task(
        self, loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any
    ) -> asyncio.Future[Any]:
        # Read before the task exists: an eager task (Python 3.12+) runs its first step inside
        # the factory, and that step belongs to its lifetime.
        started = perf_counter()
        if self.previous is not None:
            task = self.previous(loop, coro, **kwargs)
        else:
            task = asyncio.Task(coro, loop=loop, **kwargs)
        # The innermost tracker of this context is nearly always this loop's: the walk through
        # its parents (self.tracker()) is only needed when it is not.
        tracker = _tracking.get()
        if tracker is None or tracker._factory is not self:
            tracker = self.tracker()
            if tracker is None:
                return task
        key = id(task)
        tracker._started[key] = started
        tracker._labels[key] = getattr(coro, "__qualname__", None)
        if task.done():  # an eager task that ended inside the factory: it ended now
            tracker._finished(task)
        else:
            task.add_done_callback(tracker._on_done, context=tracker._context)
        return task


class LoopExecutor(ThreadPoolExecutor):
    """The default executor asynckit installs on a loop beside its task factory: each function
    handed to it (by ``asyncio.to_thread`` or ``loop.run_in_executor(None, ...)``) is wrapped
    to record itself, then passed on to the executor the loop had, so it runs in the same
    threads as it would have. A loop that had none yet gets one of asynckit's, made at the
    first call as asyncio would have made its own (threads named "asyncio_0", ...), and shut
    down when the last tracker leaves: at once when its threads are idle, and otherwise as soon
    as the work under way is done, without holding up the loop. It starts no thread itself
    (asyncio requires a ThreadPoolExecutor, hence the base class).
    """

    def __init__(self, factory: LoopFactory, previous: Executor | None) -> None:
        super().__init__(max_workers=1)  # never used: every call is passed on
        self._factory = factory
        self.previous = previous
        self._own: ThreadPoolExecutor | None = None
        self._own_lock = threading.Lock()
        self._closed = False
        self._pending: set[Future[Any]] = set()  # the own executor's calls not yet done

    @classmethod
    def install(cls, factory: LoopFactory) -> LoopExecutor | None:
        """Make a LoopExecutor the default executor of ``factory``'s loop, or, for a loop that
        keeps its default executor where asynckit cannot read it, do nothing (None)."""
        previous = _default_executor(factory.loop)
        if previous is _UNREADABLE:
            return None
        executor = cls(factory, previous)  # type: ignore[arg-type]
        factory.loop.set_default_executor(executor)
        return executor

    def remove(self) -> None:
        """Put back the loop's previous default executor (unless other code replaced this one
        meanwhile), and shut down the executor made for the loop, if any."""
        self._closed = True
        if _default_executor(self._factory.loop) is self:
            _set_default_executor(self._factory.loop, self.previous)
        self._shut_own(wait=True)

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        target = self.previous or self._own or self._make_own()
        tracker = self._factory.tracker() if not self._closed else None
        if tracker is not None:
            fn = tracker.thread_work(fn)
        future = target.submit(fn, *args, **kwargs)
        if target is self._own:
            self._pending.add(future)
            future.add_done_callback(self._pending.discard)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Shut down the executor the work goes to (what loop.close() and
        loop.shutdown_default_executor() ask of the default executor)."""
        self._closed = True
        if self.previous is not None:
            self.previous.shutdown(wait, cancel_futures=cancel_futures)
        self._shut_own(wait, cancel_futures=cancel_futures)

    def _make_own(self) -> ThreadPoolExecutor:
        with self._own_lock:
            if self._closed:
                raise RuntimeError("cannot schedule new futures after shutdown")
            if self._own is None:
                self._own = ThreadPoolExecutor(thread_name_prefix="asyncio")
            return self._own

    def _shut_own(self, wait: bool, *, cancel_futures: bool = False) -> None:
        with self._own_lock:
            own, self._own = self._own, None
        if own is not None:
            # Joining idle threads takes no time; joining busy ones would block the loop.
            own.shutdown(wait=wait and not self._pending, cancel_futures=cancel_futures)


# asyncio can set a loop's default executor but neither read it back nor unset it
# (set_default_executor(None) raises), so the attribute it keeps it in is read and written
# here, and nowhere else. A loop that keeps it elsewhere (uvloop) leaves thread work unrecorded.
_UNREADABLE = object()


def _default_executor(loop: asyncio.AbstractEventLoop) -> object:
    """The loop's default executor (None when it has none yet), or _UNREADABLE."""
    return getattr(loop, "_default_executor", _UNREADABLE)


def _set_default_executor(loop: asyncio.AbstractEventLoop, executor: Executor | None) -> None:
    loop._default_executor = executor  # type: ignore[attr-defined]


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
        """Stop measuring. A wake that was due and has not run (the loop is still held up, as
        by a blocking call at the very end of the block) counts as a last sample."""
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.cancel()
            late = self._loop.time() - handle.when()
            if late > 0:
                self.samples.append((perf_counter(), late))

    def _schedule(self) -> None:
        due = self._loop.time() + self._interval
        self._handle = self._loop.call_at(due, self._tick, due)

    def _tick(self, due: float) -> None:
        self.samples.append((perf_counter(), max(self._loop.time() - due, 0.0)))
        self._schedule()
