"""Timelines as files: the Chrome Trace Event format that Perfetto and chrome://tracing open.

A saved timeline is one JSON object (the format's "JSON Object Format"): ``traceEvents`` holds
a metadata event (``ph: "M"``) naming each track, one track per task and per thread; a
complete event (``ph: "X"``) per span, with its kind as the category (``cat``), its start and
duration in microseconds (``ts``, ``dur``) and its task, thread, error and detail in ``args``;
a flow (``ph: "s"`` then ``"f"``) from a task's track to each span of work it handed to a
thread, drawn as an arrow where the task's track has a slice at that moment; and, for a
timeline that measured loop lag, a counter event (``ph: "C"``) per lag sample.
Failed spans carry the colour name ``"terrible"``, cancelled ones ``"grey"``. ``otherData``
keeps what the events cannot hold exactly (the timeline's name and options, and the times in
seconds as recorded, packed as little-endian float64 in base64), so that reading the file back
gives the same timeline. Files written by other tools read too: complete events, begin/end
pairs (``"B"``/``"E"``) and thread names.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import sys
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._errors import AsynckitError
from ._gc import collector_paused

if TYPE_CHECKING:
    from ._timeline import Timeline

__all__ = ["TraceData", "read", "write"]

PID = 1
LAG_COUNTER = "loop lag"
_COLOUR_OF_STATE = {"failed": "terrible", "cancelled": "grey"}

#: A span as the timeline module stores it: (label, kind, start, end, task, thread[, error,
#: detail[, parent]]), with times in seconds from the timeline's start.
RawSpan = tuple[Any, ...]


@dataclass
class TraceData:
    """What a trace file holds, ready for ``Timeline`` to rebuild itself from."""

    name: str | None = None
    spans: list[RawSpan] = field(default_factory=list)
    main_task: str | None = None
    tasks: bool = False
    lag: bool = False
    lag_samples: list[tuple[float, float]] = field(default_factory=list)
    elapsed: float | None = None


def write(timeline: Timeline, path: str | os.PathLike[str]) -> None:
    """Write ``timeline`` to ``path`` in the Chrome Trace Event format."""
    with collector_paused():  # an event's text for each span, and no cycle
        document = _document(timeline)
    try:
        with open(path, "w", encoding="utf-8") as file:
            file.write(document)
    except OSError as error:
        raise AsynckitError(f"cannot write the trace to {os.fspath(path)!r}: {error}") from None


def _document(timeline: Timeline) -> str:
    """The trace file's text for ``timeline``."""
    from . import __version__
    from ._plot import readable_rows

    spans = timeline.spans
    span_lanes = [s.lane for s in spans]
    # A task that handed work to a thread has a track, for its flows to start on, even with
    # no span of its own.
    lanes = list(
        dict.fromkeys(lane for s in spans for lane in (s.parent, s.lane) if lane is not None)
    )
    tid = {lane: index + 1 for index, lane in enumerate(lanes)}
    # Each track's task and thread, so that a span's args name them only where they differ.
    track_of: dict[str, tuple[str | None, str]] = {}
    for lane, s in zip(span_lanes, spans, strict=True):
        if lane not in track_of:
            track_of[lane] = (s.task, s.thread)

    # Built as text, with each distinct string encoded once: 100,000 spans write in well
    # under a second, where a dict per event through json.dumps takes several times longer.
    encoded: dict[object, str] = {}

    def text(value: object) -> str:
        found = encoded.get(value)
        if found is None:
            found = encoded[value] = json.dumps(value)
        return found

    title = f"asynckit: {timeline.name}" if timeline.name else "asynckit timeline"
    events = [_metadata("process_name", 0, "name", json.dumps(title))]
    for lane, name in zip(lanes, readable_rows(lanes, timeline.main_task), strict=True):
        events.append(_metadata("thread_name", tid[lane], "name", json.dumps(name)))
        events.append(_metadata("thread_sort_index", tid[lane], "sort_index", str(tid[lane])))

    seconds: list[float] = []
    for lane, s in zip(span_lanes, spans, strict=True):
        start, end = s.start, s.end
        seconds += (start, end)
        extra = []
        task, thread = track_of[lane]
        if s.task != task:
            extra.append(f'"task":{text(s.task)}')
        if s.thread != thread:
            extra.append(f'"thread":{text(s.thread)}')
        if s.error is not None:
            extra.append(f'"error":{text(s.error)}')
        if s.detail is not None:
            extra.append(f'"detail":{text(s.detail)}')
        if s.parent is not None:
            extra.append(f'"parent":{text(s.parent)}')
        colour = ""
        if s.error is not None:
            state = "cancelled" if s.error == "cancelled" else "failed"
            colour = f',"cname":"{_COLOUR_OF_STATE[state]}"'
        events.append(
            f'{{"name":{text(s.label)},"cat":{text(s.kind)},"ph":"X","ts":{start * 1e6:.3f},'
            f'"dur":{max(end - start, 0.0) * 1e6:.3f},"pid":{PID},"tid":{tid[lane]},'
            f'"args":{{{",".join(extra)}}}{colour}}}'
        )
        if s.parent is not None:
            events.extend(_flow(len(events), s.label, start, tid[s.parent], tid[lane]))
    lag = timeline.lag_samples
    for at, late in lag:
        events.append(
            f'{{"name":"{LAG_COUNTER}","ph":"C","ts":{at * 1e6:.3f},"pid":{PID},"tid":0,'
            f'"args":{{"lag (ms)":{late * 1000!r}}}}}'
        )
    other = {
        "generator": f"asynckit {__version__}",
        "asynckit": {
            "name": timeline.name,
            "main_task": timeline.main_task,
            "tasks": timeline.tasks,
            "lag": timeline.lag,
            "elapsed": timeline.elapsed,
            "tracks": {str(tid[lane]): list(track) for lane, track in track_of.items()},
            # The times as recorded: the events' microseconds do not always give the same
            # seconds back, and a reloaded timeline should equal the one saved.
            "seconds": _pack(seconds),
            "lag_samples": [value for sample in lag for value in sample],
        },
    }
    return (
        '{"traceEvents":[\n'
        + ",\n".join(events)
        + f'\n],"displayTimeUnit":"ms","otherData":{json.dumps(other, separators=(",", ":"))}}}'
    )


def _flow(key: int, label: str, start: float, source: int, destination: int) -> list[str]:
    """A flow from the ``source`` track at ``start`` to the slice starting then on the
    ``destination`` track (``bp: "e"``: the slice enclosing that moment)."""
    common = f'"name":{json.dumps(label)},"cat":"thread","id":{key},"ts":{start * 1e6:.3f}'
    return [
        f'{{{common},"ph":"s","pid":{PID},"tid":{source}}}',
        f'{{{common},"ph":"f","bp":"e","pid":{PID},"tid":{destination}}}',
    ]


def _metadata(name: str, tid: int, key: str, value: str) -> str:
    """A metadata event, its one argument's value given as JSON text."""
    return f'{{"name":"{name}","ph":"M","pid":{PID},"tid":{tid},"args":{{"{key}":{value}}}}}'


def read(path: str | os.PathLike[str]) -> TraceData:
    """Read a trace file written by :func:`write`, or by another tool in the same format."""
    where = os.fspath(path)
    with collector_paused():  # a big trace is a great many dicts and strings, and no cycle
        return _read(path, where)


def _read(path: str | os.PathLike[str], where: str) -> TraceData:
    try:
        with open(path, encoding="utf-8") as file:
            document = json.load(file)
    except FileNotFoundError:
        raise AsynckitError(f"no trace file at {where!r}: save one with tl.save(path)") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise AsynckitError(
            f"{where!r} is not a JSON trace file ({error}): Timeline.load reads the Chrome "
            "Trace Event format that tl.save(path) writes"
        ) from None
    if isinstance(document, list):  # the format's "JSON Array Format"
        document = {"traceEvents": document}
    events = document.get("traceEvents") if isinstance(document, dict) else None
    if not isinstance(events, list):
        raise AsynckitError(
            f"{where!r} holds no traceEvents list: it is not a Chrome Trace Event file"
        )
    try:
        return _parse(events, document.get("otherData"))
    except (KeyError, TypeError, ValueError) as error:
        raise AsynckitError(f"{where!r} has an event asynckit cannot read: {error!r}") from None


def _parse(events: list[Any], other: object) -> TraceData:
    ours = other.get("asynckit") if isinstance(other, dict) else None
    if not isinstance(ours, dict):
        ours = {}
    names: dict[tuple[Any, Any], str] = {}
    for event in events:
        if event.get("ph") == "M" and event.get("name") == "thread_name":
            names[event.get("pid"), event.get("tid")] = str(event["args"]["name"])
    tracks: dict[tuple[Any, Any], tuple[Any, Any]] = {
        (PID, int(tid)): (task, thread) for tid, (task, thread) in ours.get("tracks", {}).items()
    }
    exact = _unpack(ours.get("seconds"))
    complete = sum(1 for event in events if event.get("ph") == "X")
    times = iter(exact) if exact is not None and len(exact) == 2 * complete else None

    spans: list[RawSpan] = []
    open_spans: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    lag: list[tuple[float, float]] = []
    for event in events:
        phase = event.get("ph")
        if phase == "X":
            track = (event.get("pid"), event.get("tid"))
            if times is not None:
                start, end = float(next(times)), float(next(times))
            else:
                start = float(event["ts"]) / 1e6
                end = start + float(event.get("dur", 0)) / 1e6
            spans.append(_span(event, start, end, track, tracks, names))
        elif phase == "B":
            track = (event.get("pid"), event.get("tid"))
            open_spans.setdefault(track, []).append(event)
        elif phase == "E":
            track = (event.get("pid"), event.get("tid"))
            if open_spans.get(track):
                begun = open_spans[track].pop()
                merged = {**begun, "args": {**begun.get("args", {}), **event.get("args", {})}}
                start, end = float(begun["ts"]) / 1e6, float(event["ts"]) / 1e6
                spans.append(_span(merged, start, end, track, tracks, names))
        elif phase == "C" and event.get("name") == LAG_COUNTER:
            (value,) = event["args"].values()
            lag.append((float(event["ts"]) / 1e6, float(value) / 1000))

    data = TraceData(spans=spans, lag_samples=lag, lag=bool(lag))
    if ours:
        data.name = ours.get("name")
        data.main_task = ours.get("main_task")
        data.tasks = bool(ours.get("tasks"))
        data.lag = bool(ours.get("lag"))
        elapsed = ours.get("elapsed")
        data.elapsed = float(elapsed) if elapsed is not None else None
        exact_lag = ours.get("lag_samples")
        if isinstance(exact_lag, list) and len(exact_lag) == 2 * len(lag):
            data.lag_samples = list(_pairs(exact_lag))
    elif spans:
        # Another tool's trace: times from its first event, so the timeline starts at zero.
        origin = min(min(s[2] for s in spans), min((t for t, _ in lag), default=float("inf")))
        data.spans = [(*s[:2], s[2] - origin, s[3] - origin, *s[4:]) for s in spans]
        data.lag_samples = [(t - origin, v) for t, v in lag]
    return data


def _span(
    event: dict[str, Any],
    start: float,
    end: float,
    track: tuple[Any, Any],
    tracks: dict[tuple[Any, Any], tuple[Any, Any]],
    names: dict[tuple[Any, Any], str],
) -> RawSpan:
    args = event.get("args") or {}
    default = tracks.get(track)
    if default is None:
        name = names.get(track, f"thread {track[1]}")
        default = tracks[track] = (name, name)
    task = args["task"] if "task" in args else default[0]
    thread = args["thread"] if "thread" in args else default[1]
    label = str(event.get("name", ""))
    kind = str(event.get("cat") or "span")
    error, detail, parent = args.get("error"), args.get("detail"), args.get("parent")
    if parent is not None:
        return (label, kind, start, end, task, thread, error, detail, parent)
    if error is None and detail is None:
        return (label, kind, start, end, task, thread)
    return (label, kind, start, end, task, thread, error, detail)


def _pack(values: list[float]) -> str:
    """Floats as base64 text of their little-endian float64 bytes: exact, and about twenty
    times quicker to write and read than as JSON numbers."""
    packed = array("d", values)
    if sys.byteorder == "big":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def _unpack(value: object) -> list[float] | None:
    """The floats that _pack wrote (or a plain list of numbers, as older files hold), or None
    for anything else: the events' own times are then used."""
    if isinstance(value, list):
        return value
    if not isinstance(value, str):
        return None
    try:
        packed = array("d", base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):  # not base64, or not a whole number of float64
        return None
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tolist()


def _pairs(values: Sequence[Any]) -> Iterable[tuple[float, float]]:
    it = iter(values)
    return ((float(a), float(b)) for a, b in zip(it, it, strict=True))
