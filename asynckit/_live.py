"""Live timelines: a Timeline drawn in the notebook while it records, then its static plot.

The kernel side is small on purpose: about every 100 ms, :class:`LiveFeed` packs what the
recorder gathered since the last batch (spans that started, spans that ended, loop lag) into
one message of a few flat arrays, and :class:`LiveView` sends it to a widget whose JavaScript
(``_live.js``, shipped in the package) draws it in the browser. When the block ends, the
widget's output is replaced by the Timeline's static plot, so the view settles into exactly
what ``tl.plot()`` draws, and a notebook saved afterwards holds that plot, not a widget.

Without a widget frontend (a plain Python, nbclient and nbval, GitHub) there is no widget: the
same Timeline shows its static plot when the block ends, where IPython can display one.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import threading
from array import array
from collections.abc import Callable
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any

from ._plot import KIND_COLOURS, MAX_ROWS

if TYPE_CHECKING:
    from ._loopwatch import LagMeter
    from ._timeline import Recorder, Row, Timeline

__all__ = ["BATCH_INTERVAL", "LiveFeed", "LiveView", "display", "in_kernel", "widget_class"]

#: Seconds between two batches sent to the browser.
BATCH_INTERVAL = 0.1
#: The widgets' JavaScript, loaded by anywidget from the package (no network needed).
LIVE_JS = Path(__file__).with_name("_live.js")

_DEFAULT_TASK_NAME = re.compile(r"Task-\d+")
_FALLBACK_COLOURS = ["#64B5CD", "#CCB974", "#937860", "#DA8BC3", "#8C8C8C"]
#: How each span's outcome travels: 0 finished, 1 failed, 2 cancelled.
_STATE_CODES = {None: 0, "cancelled": 2}

Message = tuple[dict[str, Any], list[bytes]]


class LiveFeed:
    """What a recording Timeline gathered since the last batch, as one small message.

    Each call of :meth:`batch` returns ``(content, buffers)``: ``content`` has the time now
    (seconds since the timeline's start), the names of rows and kinds seen for the first time,
    how many spans started and ended, and the new lag samples; ``buffers`` holds the spans as
    two flat float64 arrays, ``(kind, start, row)`` per started span and ``(start, end, row,
    kind, state)`` per ended one. A span is matched to its start by row and start time.
    Rows are named as the static plot names them: "main", "task 1", "task 2" ...
    """

    def __init__(
        self,
        recorder: Recorder,
        origin: float,
        main_task: str | None,
        meter: LagMeter | None = None,
    ) -> None:
        self._recorder = recorder
        if recorder.opened is None:
            recorder.opened = []
        self._origin = origin
        self._main_task = main_task
        self._meter = meter
        self._sent_opened = 0
        self._sent_spans = 0
        self._sent_lag = 0
        self._rows: dict[Row, int] = {}  # a row, or "thread <name>": its index in the view
        self._names: dict[Row, str] = {}  # the recorder's row names, as of the last batch
        self._tasks_named = 0
        self._kinds: dict[str, int] = {}
        self._extra_colours = 0

    def batch(self) -> Message:
        recorder = self._recorder
        opened = recorder.opened or []
        new_opened = opened[self._sent_opened : len(opened)]
        self._sent_opened += len(new_opened)
        new_spans = recorder.raw(since=self._sent_spans)
        self._sent_spans += len(new_spans)
        rows: list[str] = []
        kinds: list[list[str]] = []
        origin = self._origin
        self._names = recorder.row_names()

        # Plain loops with the lookups bound to locals: this runs for every span, in the
        # measured code's thread, so it is kept to a few dictionary reads per span.
        row_of, kind_of = self._rows.get, self._kinds.get
        started = array("d")
        for kind, start, row, thread in new_opened:
            k = kind_of(kind)
            r = row_of(row) if row is not None else None
            started.extend(
                (
                    k if k is not None else self._kind(kind, kinds),
                    start - origin,
                    r if r is not None else self._row(row, thread, rows),
                )
            )
        ended = array("d")
        for raw in new_spans:
            k = kind_of(raw[1])
            r = row_of(raw[4]) if raw[4] is not None else None
            ended.extend(
                (
                    raw[2] - origin,
                    raw[3] - origin,
                    r if r is not None else self._row(raw[4], raw[5], rows),
                    k if k is not None else self._kind(raw[1], kinds),
                    _STATE_CODES.get(raw[6], 1),
                )
            )
        lag: list[float] = []
        if self._meter is not None:
            samples = self._meter.samples
            new_lag = samples[self._sent_lag : len(samples)]
            self._sent_lag += len(new_lag)
            for at, late in new_lag:
                lag.extend((at - origin, late))
        content = {
            "now": perf_counter() - origin,
            "rows": rows,
            "kinds": kinds,
            "started": len(new_opened),
            "ended": len(new_spans),
            "lag": lag,
            "has_lag": self._meter is not None,
        }
        return content, [started.tobytes(), ended.tobytes()]

    def _row(self, row: Row, thread: str, new: list[str]) -> int:
        key = row if row is not None else f"thread {thread}"
        index = self._rows.get(key)
        if index is None:
            index = self._rows[key] = len(self._rows)
            lane = str(self._names.get(key, key))
            if index >= MAX_ROWS:  # past that, spans are packed into lanes: names unused
                new.append("")
            elif lane == self._main_task:
                new.append("main")
            elif _DEFAULT_TASK_NAME.fullmatch(lane):
                self._tasks_named += 1
                new.append(f"task {self._tasks_named}")
            else:
                new.append(lane)
        return index

    def _kind(self, kind: str, new: list[list[str]]) -> int:
        index = self._kinds.get(kind)
        if index is None:
            index = self._kinds[kind] = len(self._kinds)
            colour = KIND_COLOURS.get(kind)
            if colour is None:
                colour = _FALLBACK_COLOURS[self._extra_colours % len(_FALLBACK_COLOURS)]
                self._extra_colours += 1
            new.append([kind, colour])
        return index


def in_kernel() -> bool:
    """Whether this code runs in a Jupyter kernel (without importing IPython if nobody has)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _displays() -> bool:
    """Whether IPython is running this code, so that ``display`` shows something."""
    ipython = sys.modules.get("IPython")
    return ipython is not None and ipython.get_ipython() is not None


def display(obj: object, **options: Any) -> Any:
    """IPython's ``display`` (imported when first used): returns a handle with
    ``display_id=True``."""
    from IPython.display import display as ipython_display

    return ipython_display(obj, **options)  # type: ignore[no-untyped-call]


_widget_classes: dict[str, type] = {}


def widget_class() -> type:
    """The live timeline's widget class (anywidget is imported on first use only)."""
    cls = _widget_classes.get("live")
    if cls is None:
        import anywidget
        import traitlets

        class LiveTimelineWidget(anywidget.AnyWidget):
            """A Timeline drawn while it records (the static plot replaces it at the end)."""

            _esm = LIVE_JS
            title = traitlets.Unicode("").tag(sync=True)

        cls = _widget_classes["live"] = LiveTimelineWidget
    return cls


def _new_widget(title: str) -> Any | None:
    """A live widget for this kernel's frontend, or None outside a kernel or without
    anywidget installed."""
    if not in_kernel():
        return None
    try:
        return widget_class()(title=title)
    except ImportError:
        return None


class LiveView:
    """Shows a recording Timeline as it grows, then as its static plot.

    ``show()`` displays the widget; ``watch()`` sends a batch every :data:`BATCH_INTERVAL`
    seconds, from a callback of the running asyncio loop (so a blocking call freezes the view, as it
    freezes everything else on the loop) or, with no asyncio loop running in this thread, from
    a background thread. ``finish()`` sends the last batch, stops sending, and replaces the
    widget with the static plot. Where there is no widget, it displays the static plot when
    IPython can show one, and does nothing else.
    """

    def __init__(
        self,
        timeline: Timeline,
        make_widget: Callable[[str], Any | None] | None = None,
        interval: float = BATCH_INTERVAL,
    ) -> None:
        self._timeline = timeline
        self._make_widget = make_widget
        self._interval = interval
        self.widget: Any | None = None
        self.feed: LiveFeed | None = None
        self.batches = 0
        self._handle: Any | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def show(self) -> None:
        make_widget = self._make_widget if self._make_widget is not None else _new_widget
        self.widget = make_widget(self._timeline.name or "")
        if self.widget is not None and _displays():
            self._handle = display(self.widget, display_id=True)

    def watch(self, recorder: Recorder, origin: float, meter: LagMeter | None) -> None:
        if self.widget is None:
            return
        self.feed = LiveFeed(recorder, origin, self._timeline.main_task, meter)
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            self._timer = loop.call_later(self._interval, self._tick, loop)
        else:
            self._thread = threading.Thread(
                target=self._run_thread, name="asynckit-live", daemon=True
            )
            self._thread.start()

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        self.send()
        if self._timer is not None:
            self._timer = loop.call_later(self._interval, self._tick, loop)

    def _run_thread(self) -> None:
        while not self._stop.wait(self._interval):
            self.send()

    def send(self, done: bool = False) -> None:
        """Send what is new since the last batch (``done`` marks the last one)."""
        with self._lock:
            if self.feed is None or self.widget is None:
                return
            content, buffers = self.feed.batch()
            content["done"] = done
            self.widget.send(content, buffers)
            self.batches += 1

    def finish(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        if self.widget is None:
            if _displays():
                display(self._timeline)
            return
        with contextlib.suppress(Exception):  # a frontend gone away must not fail the block
            self.send(done=True)
        if self._handle is not None:
            self._handle.update(self._timeline)
        self.widget.close()
        self.feed = None
