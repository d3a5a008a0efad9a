"""Instrumented code: sleep, blocking work, and span/traced for instrumenting your own code."""

from __future__ import annotations

import asyncio
import functools
import inspect
import math
import numbers
import sys
import time
from asyncio import _get_running_loop
from collections.abc import Callable, Coroutine
from sys import modules as _modules
from time import perf_counter, thread_time
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, overload

from ._library import (
    asyncio_loop,
    current_library,
    current_task,
    current_task_async,
    error_name,
    library_sleep,
)
from ._timeline import Recorder, Row, _active, _thread, _weak, active_recorder

# current_library lives in ._library; it is named here too for the modules that import it
# from this one.
__all__ = ["check_seconds", "current_library", "sleep", "span", "traced", "work"]

P = ParamSpec("P")
T = TypeVar("T")


def check_seconds(value: object, name: str = "seconds") -> float:
    """Return ``value`` as a float if it is a usable duration, else raise a clear error.

    Any real number will do, as for ``asyncio.sleep``: int, float, Fraction, Decimal, NumPy's
    integers and floats (``numbers.Real``, which NumPy registers them with). A bool, a complex
    number, a str or None raise TypeError; NaN and negative numbers raise ValueError.
    """
    # A Decimal is not registered as numbers.Real; if the value is one, decimal is imported
    # already, so it is looked up rather than imported here.
    decimal = _modules.get("decimal")
    if isinstance(value, bool) or not (
        isinstance(value, numbers.Real)
        or (decimal is not None and isinstance(value, decimal.Decimal))
    ):
        raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
    try:
        seconds = float(value)
    except ValueError:  # a signalling NaN (Decimal("sNaN")) refuses to convert
        seconds = math.nan
    except OverflowError:  # an int or a Fraction too large for a float: forever
        seconds = math.inf
    if math.isnan(seconds) or seconds < 0:
        raise ValueError(f"{name} must be zero or more seconds, got {value!r}")
    return seconds


async def sleep(seconds: float, label: str | None = None) -> None:
    """Sleep like ``asyncio.sleep`` (or Trio's, or Curio's) and record it as a "sleep" span.

    It stands for any wait on I/O: the task yields and others run meanwhile. It detects the
    running library, so the same code works under asyncio, Trio and Curio. Outside a Timeline
    it only sleeps. A cancelled sleep is recorded with ``error="cancelled"`` and the
    cancellation propagates unchanged.

    Example::

        with asynckit.Timeline() as tl:
            await asyncio.gather(*(asynckit.sleep(1, label=f"job {i}") for i in range(3)))
        tl   # three bars side by side, about 1 s in all
    """
    # The asyncio path is kept lean: recording must cost far less than the sleep itself.
    if type(seconds) not in _PLAIN_NUMBERS or not seconds >= 0:
        seconds = check_seconds(seconds)
    recorder = _active.get()
    loop = _get_running_loop()  # asyncio_loop(), written out: a call costs here
    if loop is not None and (
        ("trio" not in _modules and "curio" not in _modules) or asyncio_loop() is not None
    ):
        if recorder is None:
            await asyncio.sleep(seconds)
            return
        task = _current_asyncio_task(loop)
        if label is None:
            last = _last_label
            label = last[1] if last[0] is seconds else _sleep_label(seconds)
        start = perf_counter()
        if recorder.opened is not None:  # watched live: show the sleep while it runs
            recorder.begin("sleep", start, recorder.row(task))
        handle = None
        try:
            if seconds:  # what asyncio.sleep does, without a second coroutine
                future = loop.create_future()
                # call_later(seconds, ...) does this, at the cost of a call with *args.
                handle = loop.call_at(loop.time() + seconds, _wake, future)
                await future
            else:
                await asyncio.sleep(0)  # a bare yield to the loop
        except BaseException as exc:
            if handle is not None:
                handle.cancel()
            recorder.add(label, "sleep", start, perf_counter(), recorder.row(task), error_name(exc))
            raise
        end = perf_counter()
        # recorder.add(label, "sleep", start, end, recorder.row(task)), written out: this is the
        # path of every recorded sleep, and a call of a Python method costs here as much as the
        # rest.
        if not recorder.closed:
            try:
                key = _weak(task)
            except TypeError:  # no task, or one that takes no weak reference
                row = recorder.row(task)
            else:
                row = recorder.rows.get(key)
                if row is None:  # the task's first span: looked up once, not again in row()
                    row = recorder.number(key, task)
            recorder.spans += (label, "sleep", start, end, row, _thread.name, None, None, None)
        return
    library = current_library("asynckit.sleep()")
    sleep_in_library = library_sleep(library)
    if recorder is None:
        await sleep_in_library(seconds)
        return
    row = recorder.row(await current_task_async(library))
    start = perf_counter()
    recorder.begin("sleep", start, row)
    try:
        await sleep_in_library(seconds)
    except BaseException as exc:
        recorder.add(
            label or _sleep_label(seconds), "sleep", start, perf_counter(), row, error_name(exc)
        )
        raise
    recorder.add(label or _sleep_label(seconds), "sleep", start, perf_counter(), row)


_PLAIN_NUMBERS = (float, int)

if sys.version_info >= (3, 12):
    _current_asyncio_task = asyncio.current_task
else:  # 3.11's current_task is a Python function around this dict's get; 3.12's is C
    _current_asyncio_task = asyncio.tasks._current_tasks.get  # type: ignore[attr-defined]


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


_sleep_labels: dict[float, str] = {}
# The last label given out, with its seconds: code sleeps the same time again and again, and
# ``is`` finds it without hashing a float.
_last_label: tuple[float, str] = (math.nan, "")


def _sleep_label(seconds: float) -> str:
    global _last_label
    label = _sleep_labels.get(seconds)
    if label is None:
        label = f"sleep({seconds:g})"
        if len(_sleep_labels) < 1024:
            _sleep_labels[seconds] = label
    _last_label = (seconds, label)
    return label


def work(seconds: float, label: str | None = None, *, cpu: bool = False) -> None:
    """Block the calling thread for ``seconds`` and record it as a "work" span.

    This is what a blocking call does to an event loop: nothing else runs in that thread
    meanwhile. With ``cpu=False`` it waits in ``time.sleep`` (like blocking I/O, which lets
    other threads run); with ``cpu=True`` it computes, holding the GIL like any pure Python
    computation, until its thread has had ``seconds`` of CPU time: about ``seconds`` when it
    runs alone, and about three times as long when three threads compute at once, since they
    take turns on the GIL (the wait for the GIL is not CPU time). Run it in a worker thread with
    ``await asyncio.to_thread(asynckit.work, 0.5)``; the span lands in the Timeline of the task
    that started the thread.

    Example::

        with asynckit.Timeline() as tl:
            asynckit.work(0.2)                                  # the loop is frozen
            await asyncio.to_thread(asynckit.work, 0.2)         # the loop stays free
    """
    seconds = check_seconds(seconds)
    if seconds == math.inf:
        raise ValueError("work blocks its thread: seconds must be finite, got inf")
    recorder = active_recorder()
    row = recorder.row(current_task()) if recorder is not None else None
    start = perf_counter()
    if recorder is not None:
        recorder.begin("work", start, row)
    try:
        if cpu:
            _compute_for(seconds)
        else:
            time.sleep(seconds)
    finally:
        if recorder is not None:
            end = perf_counter()
            name = label if label is not None else f"work({seconds:g})"
            recorder.add(name, "work", start, end, row)


def _compute_for(seconds: float) -> int:
    """Pure-Python arithmetic until this thread has had ``seconds`` of CPU time. Every step
    costs the same (small numbers throughout), and the clock is read every thousand steps,
    less than a tenth of a millisecond apart."""
    deadline = thread_time() + seconds
    total = 0
    while thread_time() < deadline:
        for _ in range(1_000):
            total = (total * 31 + 7) % 65_521
    return total


class span:
    """Record any block of code as a span: ``with span(...)`` or ``async with span(...)``.

    The span starts when the block is entered and ends when it is left. If the block raises,
    the span records the exception's type name (``"cancelled"`` for a cancellation) and the
    exception propagates unchanged. Set ``.detail`` inside the block to attach a short text.
    Outside a Timeline it records nothing and costs almost nothing.

    Example::

        async with asynckit.span("parse posts", kind="work") as s:
            posts = [json.loads(line) for line in lines]
            s.detail = f"{len(posts)} posts"
    """

    __slots__ = ("_recorder", "_row", "_start", "detail", "kind", "label")

    def __init__(self, label: str, kind: str = "span") -> None:
        if not isinstance(label, str):
            raise TypeError(f"span label must be a str, not {type(label).__name__}")
        if not isinstance(kind, str) or not kind:
            raise TypeError("span kind must be a non-empty str, such as 'span' or 'fetch'")
        self.label = label
        self.kind = kind
        self.detail: str | None = None
        self._recorder: Recorder | None = None
        self._row: Row = None
        self._start = 0.0

    def __enter__(self) -> span:
        self._recorder = recorder = active_recorder()
        if recorder is not None:
            self._row = recorder.row(current_task())
        self._start = perf_counter()
        if recorder is not None:
            recorder.begin(self.kind, self._start, self._row)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        recorder, self._recorder = self._recorder, None
        if recorder is not None:
            error = error_name(exc) if exc is not None else None
            recorder.add(
                self.label, self.kind, self._start, perf_counter(), self._row, error, self.detail
            )

    async def __aenter__(self) -> span:
        self._recorder = recorder = active_recorder()
        if recorder is not None:
            library = current_library("async with asynckit.span()")
            self._row = recorder.row(await current_task_async(library))
        self._start = perf_counter()
        if recorder is not None:
            recorder.begin(self.kind, self._start, self._row)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)


@overload
def traced(func: Callable[P, T], /) -> Callable[P, T]: ...
@overload
def traced(
    label: str | None = None, /, *, kind: str = "span"
) -> Callable[[Callable[P, T]], Callable[P, T]]: ...
def traced(
    func_or_label: Callable[P, T] | str | None = None, /, *, kind: str = "span"
) -> Callable[P, T] | Callable[[Callable[P, T]], Callable[P, T]]:
    """Decorate a function so that every call of it is recorded as a span.

    Use it bare (``@traced``, the label is the function's name) or with a label
    (``@traced("download")``) and an optional ``kind``. It works on coroutine functions (the
    span covers the awaited call) and on plain functions.

    Example::

        @asynckit.traced
        async def download(n):
            await asynckit.sleep(0.1)
    """
    if callable(func_or_label):
        return _decorate(func_or_label, None, kind)
    if func_or_label is not None and not isinstance(func_or_label, str):
        raise TypeError(
            f"traced takes a function or a label str, not {type(func_or_label).__name__}"
        )
    label = func_or_label

    def decorator(func: Callable[P, T]) -> Callable[P, T]:
        return _decorate(func, label, kind)

    return decorator


def _decorate(func: Callable[P, T], label: str | None, kind: str) -> Callable[P, T]:
    if inspect.isasyncgenfunction(func) or inspect.isgeneratorfunction(func):
        raise TypeError(
            f"traced cannot record generator {func.__qualname__}: wrap the loop that consumes "
            "it in asynckit.span(...) instead"
        )
    name = label if label is not None else func.__qualname__
    span(name, kind)  # check the label and kind now, not at the first call

    if inspect.iscoroutinefunction(func):
        coroutine_function: Callable[P, Coroutine[Any, Any, Any]] = func

        @functools.wraps(func)
        async def traced_coroutine(*args: P.args, **kwargs: P.kwargs) -> Any:
            async with span(name, kind):
                return await coroutine_function(*args, **kwargs)

        return traced_coroutine  # type: ignore[return-value]

    @functools.wraps(func)
    def traced_function(*args: P.args, **kwargs: P.kwargs) -> T:
        with span(name, kind):
            return func(*args, **kwargs)

    return traced_function
