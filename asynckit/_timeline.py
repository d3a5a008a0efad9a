"""Recording timelines: the Timeline a block records into, and the spans it reads back."""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import weakref
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar, Token
from dataclasses import asdict, dataclass, fields
from operator import attrgetter, itemgetter
from threading import Lock, current_thread, local
from time import perf_counter
from typing import TYPE_CHECKING, Any, NamedTuple

from ._errors import AsynckitError
from ._gc import collector_paused
from ._library import current_task, task_name
from ._loopwatch import LagMeter, TaskTracker, running_loop

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ._live import LiveView

__all__ = ["Recorder", "Span", "Timeline", "active_recorder", "peak_overlap"]

#: Kinds of span that stand for an HTTP request: asynckit.fetch's, and trace_config's.
REQUEST_KINDS = ("request", "fetch")

#: How many items a span takes in ``Recorder.spans``: its label, kind, start and end (as
#: perf_counter() readings), row, thread, error, detail and parent, in the order of Span's fields.
SPAN_WIDTH = 9
# A span as Recorder.raw() reads it back: its SPAN_WIDTH items. Span objects are built only
# when the spans are read.
_RawSpan = tuple[Any, ...]
#: Where a span goes, as a Recorder notes it: a task's row number (an int, in the order the
#: recorder first saw the tasks), a row already named (a str, as in a timeline read back from a
#: file), or None for no task. Recorder.row_names() names the numbers.
Row = int | str | None
# A span that has started, as a live Timeline notes it: (kind, start, row, thread).
_RawOpen = tuple[str, float, Row, str]


class Recorder:
    """How instrumented code adds spans to a Timeline: the one interface between the two.

    ``row(task)`` gives the row a task's spans go in, and ``add(...)`` adds a span measured
    with ``time.perf_counter()`` readings; ``record_finished(...)`` does both for a task that
    is done, then forgets its row. Instrumented code finds the innermost open recorder with
    :func:`active_recorder`; a Timeline reads the spans back with ``raw()`` when asked, and
    ``row_names()`` names their rows.

    ``spans`` holds the spans one after another, ``SPAN_WIDTH`` items each, not a tuple per
    span: a span's items are numbers, text and None, which the garbage collector does not
    track, so recording makes no object that it tracks. (A tuple per span would be one: each
    would be gone through by the collector's next pass, a cost every recorded span paid.)
    A span's items are added in one ``list.extend``, which no other thread can interleave.

    Rows follow tasks, not their names or ids: each distinct task gets a row of its own, named
    after it ("sleep", then "sleep #2", ... when Trio or Curio tasks share a function), and a
    task created after another was collected (which may reuse its id) gets a new row. A span
    holds its row's number; ``rows`` finds the number from a weak reference to the task: while
    the task lives, that is the same object every time (CPython shares a plain weak reference),
    and once the task is dead it equals no other, so a new task with a reused id never matches
    it. So recording keeps no task alive, and a span holds only numbers and text, which the
    garbage collector stops tracking at its first pass (a span holding a weak reference would
    be gone through again at each of its passes, for as long as the timeline lives). A task
    that is done records nothing more: when the task tracker records its lifetime, its weak
    reference leaves ``rows``, so a timeline of many tasks does not keep one for each. A task's
    name is read when it is first seen (it may be gone later); the " #2" suffixes are worked
    out only when the names are read, so that a task's first span costs little.

    With ``opened`` set to a list (a live Timeline does so), instrumented code also calls
    ``begin(...)`` when a span starts, so that a live view can draw it while it runs; otherwise
    ``opened`` is None and starting a span costs nothing more.
    """

    __slots__ = (
        "_counts",
        "_namers",
        "_names",
        "_naming",
        "_numbers",
        "_shown",
        "closed",
        "libraries",
        "opened",
        "rows",
        "spans",
    )

    def __init__(self) -> None:
        self.spans: list[Any] = []  # SPAN_WIDTH items per span
        self.opened: list[_RawOpen] | None = None
        self.closed = False
        #: Each task's row number, by a weak reference to the task (by the task itself for a
        #: type of task that takes no weak reference: it is then held while recording).
        self.rows: dict[object, int] = {}
        self._numbers = itertools.count()  # next() is one step: threads may number rows at once
        self._names: dict[int, str] = {}  # each task's own name, by its row, in first-seen order
        self._shown: dict[Row, str] = {}  # each row's name, as far as worked out
        self._counts: dict[str, int] = {}  # how many rows so far show each name
        self._naming = Lock()
        # How to read the name of each type of task seen here (asyncio's name themselves).
        self._namers: dict[type, Callable[[Any], str]] = {}
        #: The libraries whose tasks were seen ("asyncio", "trio", "curio").
        self.libraries: set[str] = set()

    def row(self, task: object | None) -> int | None:
        """The row number of ``task`` (None, for no task, stays None)."""
        if task is None:
            return None
        try:
            key: object = _weak(task)
        except TypeError:  # a task type without weak references: hold it while recording
            key = task
        row = self.rows.get(key)
        return row if row is not None else self.number(key, task)

    def number(self, key: object, task: object) -> int:
        """Number a task seen for the first time, found under ``key`` in ``rows`` from now
        on, and note its name."""
        row = self.rows[key] = next(self._numbers)
        name_of = self._namers.get(type(task)) or self._learn(type(task))
        self._names[row] = name_of(task)
        return row

    def _learn(self, cls: type) -> Callable[[Any], str]:
        """Note the library of a type of task seen for the first time, and how to name one."""
        self.libraries.add(cls.__module__.lstrip("_").partition(".")[0])
        get_name = getattr(cls, "get_name", None)  # an asyncio task names itself
        name_of = self._namers[cls] = get_name if callable(get_name) else task_name
        return name_of

    def row_names(self) -> dict[Row, str]:
        """The name of each row seen so far: its task's own name, and " #2", " #3" ... after
        it for the second and later tasks of the same name."""
        shown, counts = self._shown, self._counts
        if len(shown) < len(self._names):
            with self._naming:  # a live view and the notebook may read at once
                for row, name in list(self._names.items())[len(shown) :]:
                    count = counts[name] = counts.get(name, 0) + 1
                    shown[row] = name if count == 1 else f"{name} #{count}"
        return shown

    def count(self) -> int:
        """How many spans were recorded."""
        return len(self.spans) // SPAN_WIDTH

    def raw(self, since: int = 0) -> list[_RawSpan]:
        """The spans recorded so far (from the ``since``-th on), each as a tuple of its
        ``SPAN_WIDTH`` items."""
        # A copy of the items first: other threads may add spans meanwhile.
        return list(_each_span(self.spans[since * SPAN_WIDTH :]))

    def begin(self, kind: str, start: float, row: Row) -> None:
        """Note that a span of ``kind`` started at ``start`` in ``row``, when watched live
        (``opened`` is a list); ``add`` records it when it ends."""
        opened = self.opened
        if opened is not None and not self.closed:
            opened.append((kind, start, row, _thread.name))

    def add(
        self,
        label: str,
        kind: str,
        start: float,
        end: float,
        row: Row,
        error: str | None = None,
        detail: str | None = None,
        parent: Row = None,
        thread: str | None = None,
    ) -> None:
        """Add a span from ``start`` to ``end`` (``perf_counter()`` readings) in ``row``,
        unless the timeline has closed. ``thread`` is the name of the thread that ran it (the
        calling thread's, unless given)."""
        if not self.closed:
            if thread is None:
                thread = _thread.name
            self.spans += (label, kind, start, end, row, thread, error, detail, parent)

    def record_finished(
        self,
        label: str,
        kind: str,
        start: float,
        end: float,
        task: object,
        error: str | None = None,
    ) -> None:
        """Add the span of a task that is done (its lifetime, as the task tracker records it)
        in the task's row: ``add(label, kind, start, end, row(task), error)``, except that the
        row is then forgotten, since a task that is done records no more spans. So the recorder
        keeps no weak reference to a finished task, and a task seen for the first time here
        gets a row without one."""
        if self.closed:
            return
        try:
            key: object = _weak(task)
        except TypeError:
            key = task
        row = self.rows.pop(key, None)
        if row is None:  # number(key, task) without noting the key: it is not looked up again
            row = next(self._numbers)
            name_of = self._namers.get(type(task)) or self._learn(type(task))
            self._names[row] = name_of(task)
        self.spans += (label, kind, start, end, row, _thread.name, error, None, None)


def _each_span(items: list[Any]) -> Iterator[_RawSpan]:
    """The spans in ``items`` (``SPAN_WIDTH`` items each, as a Recorder holds them), each as a
    tuple of its items. Unpacked as it is read, one tuple serves every span (zip reuses its
    result once nothing else holds it)."""
    step = iter(items)  # each tuple takes the next SPAN_WIDTH items
    return zip(*[step] * SPAN_WIDTH, strict=True)


_weak = weakref.ref


class _ThreadName(local):
    """This thread's name, read once per thread (threading.current_thread() costs more than
    the rest of recording a span)."""

    def __init__(self) -> None:
        self.name = current_thread().name


_thread = _ThreadName()


_active: ContextVar[Recorder | None] = ContextVar("asynckit_recorder", default=None)


def active_recorder() -> Recorder | None:
    """The recorder of the innermost Timeline open in this context, or None."""
    return _active.get()


@dataclass(frozen=True, slots=True)
class Span:
    """One recorded stretch of time: what ran, where, and how it ended.

    ``start`` and ``end`` are seconds from the start of the Timeline that recorded the span.
    ``task`` names the task that ran it (None in a worker thread, or in synchronous code under
    Curio), ``thread`` the thread. ``error`` is None for a span that finished normally, the
    exception's type name for one that raised, and ``"cancelled"`` for one that was cancelled.
    ``detail`` is a short text such as an HTTP status. ``parent`` names the task that handed
    the span's work to a worker thread (a span of kind "thread", recorded by
    ``Timeline(tasks=True)``), and is None for every other span.

    Example::

        with asynckit.Timeline() as tl:
            await asynckit.sleep(0.1, label="nap")
        tl.spans[0].label, round(tl.spans[0].duration, 1)   # ('nap', 0.1)
    """

    label: str
    kind: str
    start: float
    end: float
    task: str | None
    thread: str
    error: str | None = None
    detail: str | None = None
    parent: str | None = None

    @property
    def duration(self) -> float:
        """Seconds from start to end."""
        return self.end - self.start

    @property
    def lane(self) -> str:
        """The row a plot draws this span in: its task, or its thread when no task ran it."""
        return self.task if self.task is not None else f"thread {self.thread}"


class Timeline:
    """Records the spans of instrumented code run inside ``with Timeline() as tl:``.

    The timeline is active for the current task and for every task started inside the block
    (they inherit it through context variables), under asyncio, Trio and Curio, and in worker
    threads started with ``asyncio.to_thread``. Timelines nest: the innermost one records.
    Outside any timeline, instrumented code runs normally and records nothing. A timeline
    records once: spans that finish after the block has ended are not added.

    Under Curio, whose tasks share one context unless the kernel runs with
    ``taskcls=curio.task.ContextTask``, a timeline is seen by every task of the kernel.

    Two options watch the asyncio loop itself, cheaply enough to leave on in a lesson.
    ``tasks=True`` also records the lifetime of every asyncio task created inside the block,
    libraries' tasks included, as spans of kind "task" (a task factory is installed for the
    block, composed with any existing one, and restored after). Each task is recorded once:
    by the innermost such timeline of the context that creates it, or by the one entered last
    when that context has none. A task still running when the block ends is recorded up to
    that moment, with the detail "still running". Eager tasks (Python 3.12+) start before
    their first step.
    It records as well every function the loop's default executor runs
    (``asyncio.to_thread(f)``, ``loop.run_in_executor(None, f)``) as a span of kind "thread",
    labelled with the function's name, in the row of the worker thread that ran it, and with
    the task that handed it over as its ``parent`` (the plot links the two); a call still
    running when the block ends is recorded up to then, "still running" too. The loop's
    default executor is wrapped for the block and put back after; work given to an executor
    of your own (``loop.run_in_executor(pool, f)``) is not recorded.
    ``lag=True`` measures how late the loop wakes a callback due every 5 ms: the plot draws it
    as a trace under the spans, so a blocking call shows up as a spike, and ``max_lag`` gives
    the worst, in seconds.

    ``live=True`` shows the timeline in the notebook while it records: each task gets its row
    as it starts, bars grow as their spans run, and the time axis slides on; when the block
    ends the view turns into the static plot, exactly what ``tl.plot()`` draws, so there is no
    need to end the cell with ``tl``. The browser draws; the kernel only sends what is new,
    about every 100 ms, from a callback of the event loop (so a blocking call freezes the view
    too). Where no widget can show (a plain Python, nbclient, GitHub), the static plot is shown
    when the block ends, where IPython can display it.

    Example::

        with asynckit.Timeline() as tl:
            await asyncio.gather(asynckit.sleep(0.2), asynckit.sleep(0.3))
        tl            # in Jupyter: the plot; tl.duration is about 0.3
    """

    def __init__(
        self,
        name: str | None = None,
        *,
        tasks: bool = False,
        lag: bool = False,
        live: bool = False,
    ) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Timeline name must be a str or None, not {type(name).__name__}")
        self.name = name
        self.tasks = bool(tasks)
        self.lag = bool(lag)
        self.live = bool(live)
        self._view: LiveView | None = None
        self._recorder = Recorder()
        self._tracker: TaskTracker | None = None
        self._meter: LagMeter | None = None
        self._origin: float | None = None
        self._left: float | None = None
        self._main_task: Row = None
        self._token: Token[Recorder | None] | None = None
        self._cache: list[Span] | None = None
        self._digested: _Digest | None = None
        self._loaded_lag: list[tuple[float, float]] | None = None

    # -- recording -------------------------------------------------------------------------

    def __enter__(self) -> Timeline:
        if self._origin is not None:
            raise AsynckitError(
                "this Timeline has already recorded; make a new Timeline() for each recording"
            )
        if self.tasks:
            self._tracker = TaskTracker(self._recorder, running_loop("tasks"))
        if self.lag:
            self._meter = LagMeter(running_loop("lag"))
        self._main_task = self._recorder.row(current_task())
        if self.live:  # shown before the clock starts: displaying it is not the block's time
            from ._live import LiveView

            self._view = LiveView(self)
            self._view.show()
        self._origin = perf_counter()
        if self._view is not None:
            self._view.watch(self._recorder, self._origin, self._meter)
        self._token = _active.set(self._recorder)
        if self._tracker is not None:
            self._tracker.install()
        if self._meter is not None:
            self._meter.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._tracker is not None:
            self._tracker.remove()
        if self._meter is not None:
            self._meter.stop()
        self._recorder.closed = True
        self._left = perf_counter()
        token, self._token = self._token, None
        if token is not None:
            # Left in another context than the one it was entered in (a task that outlived
            # its block), reset() refuses: that context still sees this timeline, now closed.
            with contextlib.suppress(ValueError):
                _active.reset(token)
        view, self._view = self._view, None
        if view is not None:
            view.finish()

    # -- reading ---------------------------------------------------------------------------

    @property
    def spans(self) -> list[Span]:
        """The recorded spans in start order, with times in seconds from the timeline's start."""
        recorder = self._recorder
        if self._cache is None or len(self._cache) != recorder.count():
            origin = self._origin if self._origin is not None else 0.0
            with collector_paused():  # Span objects hold no cycle
                spans = _spans_of(recorder.spans[:], origin, recorder.row_names())
            spans.sort(key=_start_of)
            self._cache = spans
        return list(self._cache)

    @property
    def duration(self) -> float:
        """Seconds from the first span's start to the last span's end (0.0 with no spans)."""
        digest = self._digest()
        return float(digest.last_end - digest.first_start) if digest.spans else 0.0

    @property
    def elapsed(self) -> float:
        """Wall-clock seconds from entering the block to leaving it (or to now, while it
        records). Unlike ``duration`` it includes time no span covers, such as creating tasks."""
        if self._origin is None:
            return 0.0
        return (self._left if self._left is not None else perf_counter()) - self._origin

    @property
    def main_task(self) -> str | None:
        """The row of the task that entered the block (a plot calls it "main"), or None when
        no task did (a worker thread, or synchronous code under Curio)."""
        main = self._main_task
        if main is None or isinstance(main, str):
            return main
        return self._recorder.row_names()[main]

    @property
    def lag_samples(self) -> list[tuple[float, float]]:
        """With ``lag=True``: ``(time, lag)`` pairs, both in seconds, time from the start."""
        if self._loaded_lag is not None:
            return list(self._loaded_lag)
        if self._meter is None:
            return []
        origin = self._origin if self._origin is not None else 0.0
        return [(at - origin, lag) for at, lag in self._meter.samples]

    @property
    def max_lag(self) -> float:
        """With ``lag=True``: the worst lag of the event loop seen, in seconds (else 0.0)."""
        return max((lag for _, lag in self.lag_samples), default=0.0)

    @property
    def libraries(self) -> set[str]:
        """The async libraries whose tasks recorded spans here: "asyncio", "trio", "curio"."""
        return set(self._recorder.libraries)

    @property
    def threads(self) -> set[str]:
        """The names of the threads whose spans were recorded here (read without building the
        spans)."""
        return set(self._digest().threads)

    def summary(self) -> str:
        """One line about what was recorded: the wall time, the tasks and how many were alive
        at once, the requests and how many were in flight at once, the calls run in threads,
        the spans that failed, and the longest loop lag. ``%%timeline`` prints it under its
        cell. It reads the spans as recorded, without making Span objects, so it stays quick
        for tens of thousands of spans.

        Example::

            with asynckit.Timeline(tasks=True) as tl:
                await asyncio.gather(*(asynckit.sleep(0.1) for _ in range(3)))
            tl.summary()   # '103 ms wall · 3 tasks (at most 3 alive at once)'
        """
        from ._plot import seconds_text

        digest = self._digest()
        parts = [f"{seconds_text(self.elapsed)} wall"]
        if self.tasks:
            tasks = len(digest.task_starts)
            alive = _most_at_once(digest.task_starts, digest.task_ends)
            parts.append(f"{_count(tasks, 'task')} (at most {alive:,} alive at once)")
        repeated = _repeated_requests(digest.requests)
        requests = [r for r in digest.requests if id(r) not in repeated]
        if requests:
            in_flight = _most_at_once(map(_start_of_raw, requests), map(_end_of_raw, requests))
            parts.append(f"{_count(requests, 'request')} (at most {in_flight:,} in flight)")
        if digest.calls_in_threads:
            threads = _count(len(digest.call_threads), "thread")
            parts.append(f"{_count(digest.calls_in_threads, 'call')} in {threads}")
        failed = [r for r in digest.failed if id(r) not in repeated]
        if failed:
            parts.append(_count(failed, "failed span"))
        if self.lag:
            parts.append(f"longest loop lag {seconds_text(self.max_lag)}")
        return " · ".join(parts)

    def _digest(self) -> _Digest:
        """What the summary, ``duration`` and ``threads`` read from the spans as recorded, made
        again only when spans were added since (spans are only ever appended)."""
        recorder = self._recorder
        digest = self._digested
        if digest is None or digest.spans != recorder.count():
            digest = self._digested = _digest(recorder.spans[:])  # a copy: threads may add
        return digest

    def records(self) -> list[dict[str, Any]]:
        """The spans as plain dicts (with a ``duration`` key), ready for ``pandas.DataFrame``."""
        return [{**asdict(s), "duration": s.duration} for s in self.spans]

    def __len__(self) -> int:
        return self._recorder.count()

    # -- files -----------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write this timeline to ``path`` as a Chrome Trace Event file (JSON).

        Open it in the Perfetto UI (https://ui.perfetto.dev, "Open trace file") or in
        ``chrome://tracing`` to zoom and search: one track per task and per thread, span kinds
        as categories, failed and cancelled spans coloured and their errors in the details,
        and the loop lag as a counter track. :meth:`Timeline.load` reads it back.

        Example::

            tl.save("crawl.json")
            asynckit.Timeline.load("crawl.json").spans == tl.spans   # True
        """
        from ._export import write

        write(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Timeline:
        """Read a timeline saved with :meth:`save`: the same name, spans, lag samples and
        options, ready to plot. Chrome Trace Event files from other tools read too,
        gzip-compressed or not (their complete and begin/end events as spans, each thread's
        track as a row, named after it). A file that holds what cannot be drawn or saved
        again is refused with an error that says where, and so is one of more than 1 GB of
        JSON once decompressed (about five million spans), before it fills the memory. The
        timeline read back records nothing more.

        Example::

            tl = asynckit.Timeline.load("crawl.json")
            tl   # in Jupyter: the plot
        """
        from ._export import read

        data = read(path)
        timeline = cls(data.name, tasks=data.tasks, lag=data.lag)
        timeline._recorder.spans = list(itertools.chain.from_iterable(data.spans))
        timeline._recorder.closed = True
        timeline._origin = 0.0
        timeline._left = (
            data.elapsed
            if data.elapsed is not None
            else max((s[3] for s in data.spans), default=0.0)
        )
        timeline._main_task = data.main_task
        timeline._loaded_lag = list(data.lag_samples)
        return timeline

    def plot(self, ax: Axes | None = None, title: str | None = None) -> Axes:
        """Draw this timeline with :func:`asynckit.plot_timeline` and return the Axes."""
        from ._plot import plot_timeline

        return plot_timeline(self, ax=ax, title=title)

    def _repr_png_(self) -> bytes:
        from ._plot import timeline_png

        return timeline_png(self)

    def __repr__(self) -> str:
        name = f" {self.name!r}" if self.name else ""
        state = "done" if self._recorder.closed else "recording"
        if self._origin is None:
            state = "not started"
        return f"<Timeline{name}: {len(self)} spans over {self.duration:.3f} s, {state}>"


def peak_overlap(spans: Iterable[Span]) -> int:
    """The most spans that were under way at one moment (0 for none); spans that only touch
    (one ends as the next starts) do not overlap."""
    spans = list(spans)
    return _most_at_once([s.start for s in spans], [s.end for s in spans])


class _Digest(NamedTuple):
    """What the summary, ``Timeline.duration`` and ``Timeline.threads`` read from the spans as
    recorded, gathered in one pass over them rather than a pass for each figure: with tens of
    thousands of spans, going through them costs more than what is read there."""

    spans: int  # how many spans it was made from
    first_start: float
    last_end: float
    threads: frozenset[str]  # the threads that recorded spans
    task_starts: list[float]
    task_ends: list[float]
    requests: list[_RawSpan]
    calls_in_threads: int  # spans of kind "thread"
    call_threads: frozenset[str]  # the threads that ran them
    failed: list[_RawSpan]  # spans that raised (not those cancelled)


def _digest(items: list[Any]) -> _Digest:
    """The digest of the spans in ``items`` (``SPAN_WIDTH`` items each, as a Recorder holds
    them), in one pass; of the spans themselves it keeps only the requests and failures."""
    first_start, last_end = math.inf, -math.inf
    threads: set[str] = set()
    task_starts: list[float] = []
    task_ends: list[float] = []
    requests: list[_RawSpan] = []
    call_threads: set[str] = set()
    calls = 0
    failed: list[_RawSpan] = []
    for label, kind, start, end, row, thread, error, detail, parent in _each_span(items):
        if start < first_start:
            first_start = start
        if end > last_end:
            last_end = end
        threads.add(thread)
        span = None
        if kind == "task":
            task_starts.append(start)
            task_ends.append(end)
        elif kind in REQUEST_KINDS:
            span = (label, kind, start, end, row, thread, error, detail, parent)
            requests.append(span)
        elif kind == "thread":
            calls += 1
            call_threads.add(thread)
        if error is not None and error != "cancelled":
            # The same tuple as in requests: the summary matches the two by id.
            failed.append(span or (label, kind, start, end, row, thread, error, detail, parent))
    return _Digest(
        len(items) // SPAN_WIDTH,
        first_start,
        last_end,
        frozenset(threads),
        task_starts,
        task_ends,
        requests,
        calls,
        frozenset(call_threads),
        failed,
    )


def _most_at_once(starts: Iterable[float], ends: Iterable[float]) -> int:
    """How many of the spans with these starts and ends were under way at one moment, at
    most; at equal times an end comes first (spans that only touch do not overlap)."""
    ends = sorted(ends)
    running = peak = ended = 0
    for start in sorted(starts):
        while ended < len(ends) and ends[ended] <= start:
            ended += 1
            running -= 1
        running += 1
        if running > peak:
            peak = running
    return peak


def _repeated_requests(requests: list[_RawSpan]) -> set[int]:
    """The ids of the "fetch" spans whose request was also recorded as a "request" span (a
    fetch through a session with trace_config() records both, the request inside the fetch,
    in the same row): the summary counts each request, and each failure, once."""
    traced: dict[Row, list[float]] = {}
    fetches = []
    for r in requests:
        if r[1] == "request":
            traced.setdefault(r[4], []).append(r[2])
        elif r[1] == "fetch":
            fetches.append(r)
    if not traced or not fetches:
        return set()
    for starts in traced.values():
        starts.sort()
    repeated = set()
    for r in fetches:
        starts = traced.get(r[4], [])
        first = bisect_left(starts, r[2])  # the row's first request after the fetch started
        if first < len(starts) and starts[first] <= r[3]:
            repeated.add(id(r))
    return repeated


def _count(items: list[Any] | int, noun: str) -> str:
    """How many items (or the number given) of a noun: as "1 task" or "3 tasks"."""
    n = items if isinstance(items, int) else len(items)
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _spans_of(items: list[Any], origin: float, names: dict[Row, str]) -> list[Span]:
    """Span objects for the spans in ``items`` (``SPAN_WIDTH`` items each, as a Recorder holds
    them), with times from ``origin`` and rows named. They are made without the frozen
    dataclass's __init__, which sets each field through object.__setattr__ and takes twice as
    long: the same fields are set through the slots' own descriptors (what
    object.__setattr__ ends up calling)."""
    make = object.__new__
    (
        set_label,
        set_kind,
        set_start,
        set_end,
        set_task,
        set_thread,
        set_error,
        set_detail,
        set_parent,
    ) = _SPAN_SLOTS
    spans = []
    for label, kind, start, end, row, thread, error, detail, parent in _each_span(items):
        span = make(Span)
        set_label(span, label)
        set_kind(span, kind)
        set_start(span, start - origin)
        set_end(span, end - origin)
        set_task(span, names.get(row, row))
        set_thread(span, thread)
        set_error(span, error)
        set_detail(span, detail)
        set_parent(span, names.get(parent, parent) if parent is not None else None)
        spans.append(span)
    return spans


# Each field's slot descriptor's __set__, in the order of a raw span.
_SPAN_SLOTS = [getattr(Span, field.name).__set__ for field in fields(Span)]

_start_of = attrgetter("start")
_start_of_raw = itemgetter(2)
_end_of_raw = itemgetter(3)
