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
gives the same timeline. Files written by other tools read too, gzip-compressed or not:
complete events, begin/end pairs (``"B"``/``"E"``) and thread names, a track per thread of
each process. A file that would give a timeline asynckit cannot draw or save (an event that is
not an object, a time that is not a finite number) is refused with an error that says where.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import json
import os
import sys
import zlib
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from math import isfinite, nan
from operator import gt
from typing import TYPE_CHECKING, Any, cast

from ._errors import AsynckitError
from ._gc import collector_paused

if TYPE_CHECKING:
    from ._timeline import Timeline

__all__ = ["TraceData", "read", "write"]

PID = 1
LAG_COUNTER = "loop lag"
#: The first bytes of a gzip file.
GZIP_MAGIC = b"\x1f\x8b"
#: The most JSON Timeline.load reads, decompressed: about five million spans of asynckit's
#: (a span takes about 220 bytes), whose Python objects take several GB. A bigger file, or a
#: small gzip file that would unpack past it, is refused before it fills the memory.
MAX_JSON_BYTES = 1 << 30
_COLOUR_OF_STATE = {"failed": "terrible", "cancelled": "grey"}

#: A span as the timeline module reads it back: (label, kind, start, end, task, thread, error,
#: detail, parent), with times in seconds from the timeline's start.
RawSpan = tuple[Any, ...]
#: A track of a trace file: the (pid, tid) of its events.
Track = tuple[Any, Any]


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
    """Read a trace file written by :func:`write`, or by another tool in the same format,
    gzip-compressed or not."""
    where = os.fspath(path)
    with collector_paused():  # a big trace is a great many dicts and strings, and no cycle
        return _read(path, where)


class _Unreadable(Exception):
    """What asynckit cannot read in a trace file, and what to do about it: the message of the
    AsynckitError that names the file."""


def _read(path: str | os.PathLike[str], where: str) -> TraceData:
    document = _json_in(path, where)
    if isinstance(document, list):  # the format's "JSON Array Format"
        document = {"traceEvents": document}
    events = document.get("traceEvents") if isinstance(document, dict) else None
    if not isinstance(events, list):
        raise AsynckitError(
            f"{where!r} holds no traceEvents list: it is not a Chrome Trace Event file"
        )
    try:
        return _parse(events, document.get("otherData"))
    except _Unreadable as problem:
        raise AsynckitError(f"{where!r} {problem}") from None


def _json_in(path: str | os.PathLike[str], where: str) -> Any:
    """The JSON value the file holds, gzip-compressed or not: Perfetto and Chrome hand out
    traces as .json.gz, and the first bytes tell, whatever the file's name."""
    try:
        with open(path, "rb") as file:
            if os.fstat(file.fileno()).st_size > MAX_JSON_BYTES:  # refused unread
                raise _too_big(where)
            data = file.read(MAX_JSON_BYTES + 1)  # a pipe or device tells no size
    except FileNotFoundError:
        raise AsynckitError(f"no trace file at {where!r}: save one with tl.save(path)") from None
    except OSError as error:
        raise _not_json(where, error) from None
    if len(data) <= MAX_JSON_BYTES and data.startswith(GZIP_MAGIC):
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as unpacked:
                data = unpacked.read(MAX_JSON_BYTES + 1)
        except (OSError, EOFError, zlib.error) as error:
            raise AsynckitError(
                f"{where!r} is gzip-compressed but does not decompress ({error}): it may be "
                "cut short; download or copy it again"
            ) from None
    if len(data) > MAX_JSON_BYTES:
        raise _too_big(where)
    try:
        # From bytes, json reads UTF-8 with or without a byte order mark (and UTF-16 and -32).
        return json.loads(data)
    except RecursionError:
        raise _not_json(where, "its JSON nests too deeply") from None
    except ValueError as error:  # UnicodeDecodeError and JSONDecodeError among them
        raise _not_json(where, error) from None


def _too_big(where: str) -> AsynckitError:
    return AsynckitError(
        f"{where!r} holds more than {MAX_JSON_BYTES >> 20:,} MB of JSON, more than "
        "Timeline.load reads: open it in https://ui.perfetto.dev, which streams big traces"
    )


def _not_json(where: str, why: object) -> AsynckitError:
    return AsynckitError(
        f"{where!r} is not a JSON trace file ({why}): Timeline.load reads the Chrome Trace "
        "Event format that tl.save(path) writes"
    )


def _parse(events: list[Any], other: object) -> TraceData:
    ours = other.get("asynckit") if isinstance(other, dict) else None
    if not isinstance(ours, dict):
        ours = {}
    # Each track's task and thread: asynckit's own from otherData, another tool's named
    # after its thread.
    tracks = _our_tracks(ours.get("tracks", {}))
    thread_names, process_names, used, complete = _survey(events)
    tracks.update(_foreign_tracks(used - tracks.keys(), thread_names, process_names))
    exact = _unpack(ours.get("seconds"))
    if exact is not None and (len(exact) != 2 * complete or any(map(gt, exact[::2], exact[1::2]))):
        exact = None  # damaged (a span that would end before it starts): the events' own
    times = iter(exact) if exact is not None else None

    spans: list[RawSpan] = []
    open_spans: dict[Track, list[tuple[dict[str, Any], dict[str, Any], float]]] = {}
    lag: list[tuple[float, float]] = []
    for index, event in enumerate(events):
        try:
            phase = event.get("ph")
            if phase == "X":
                if times is not None:
                    start, end = next(times), next(times)
                else:
                    start, end = _start_and_end(event)
                track = tracks[event.get("pid"), event.get("tid")]
                spans.append(_span(event, _args(event), start, end, track))
            elif phase == "B":
                track = event.get("pid"), event.get("tid")
                begun = (event, _args(event), _seconds(event, "ts"))
                open_spans.setdefault(track, []).append(begun)
            elif phase == "E":
                track = event.get("pid"), event.get("tid")
                if open_spans.get(track):
                    event_begun, args, start = open_spans[track].pop()
                    args = {**args, **_args(event)}
                    end = _seconds(event, "ts")
                    spans.append(_span(event_begun, args, start, end, tracks[track]))
            elif phase == "C" and event.get("name") == LAG_COUNTER:
                values = list(_args(event).values())
                late = _finite(values[0]) if len(values) == 1 else None
                if late is None:
                    raise _Unreadable("is a loop lag counter without one finite number in args")
                lag.append((_seconds(event, "ts"), late / 1000))
        except _Unreadable as problem:
            raise _bad_event(index, problem) from None

    data = TraceData(spans=spans, lag_samples=lag, lag=bool(lag))
    if ours:
        data.name = _ours_text(ours, "name")
        data.main_task = _ours_text(ours, "main_task")
        data.tasks = bool(ours.get("tasks"))
        data.lag = bool(ours.get("lag"))
        elapsed = ours.get("elapsed")
        data.elapsed = None if elapsed is None else _finite(elapsed)
        if elapsed is not None and data.elapsed is None:
            raise _ours_damaged("elapsed", elapsed, "a finite number of seconds or null")
        exact_lag = _unpack(ours.get("lag_samples"))
        if exact_lag is not None and len(exact_lag) == 2 * len(lag):
            data.lag_samples = list(_pairs(exact_lag))
    elif spans:
        # Another tool's trace: times from its first event, so the timeline starts at zero.
        origin = min(min(s[2] for s in spans), min((t for t, _ in lag), default=float("inf")))
        data.spans = [(*s[:2], s[2] - origin, s[3] - origin, *s[4:]) for s in spans]
        data.lag_samples = [(t - origin, v) for t, v in lag]
    return data


def _survey(events: list[Any]) -> tuple[dict[Track, str], dict[Any, str], set[Track], int]:
    """The names of the threads and processes, the tracks of the spans' events, and how many
    complete events there are; _Unreadable for an event that is not an object, or whose pid
    or tid is neither a number nor text."""
    thread_names: dict[Track, str] = {}
    process_names: dict[Any, str] = {}
    used: set[Track] = set()
    complete = 0
    for index, event in enumerate(events):
        try:
            if not isinstance(event, dict):
                raise _Unreadable(f"is {_shown(event)}, not an event object")
            phase = event.get("ph")
            if phase == "X" or phase == "B" or phase == "E":
                used.add((event.get("pid"), event.get("tid")))
                if phase == "X":
                    complete += 1
            elif phase == "M":
                metadata = event.get("name")
                if metadata == "thread_name":
                    thread_names[event.get("pid"), event.get("tid")] = _name_in(event)
                elif metadata == "process_name":
                    process_names[event.get("pid")] = _name_in(event)
        except TypeError:  # a list or an object as a pid or tid: it cannot key a track
            problem = "has a pid or tid that is neither a number nor text"
            raise _bad_event(index, problem) from None
        except _Unreadable as problem:
            raise _bad_event(index, problem) from None
    return thread_names, process_names, used, complete


def _foreign_tracks(
    tracks: Iterable[Track], thread_names: dict[Track, str], process_names: dict[Any, str]
) -> dict[Track, tuple[str, str]]:
    """The task and thread of each track of another tool's trace: its thread's name, made
    unique. Chrome names a thread CrRendererMain in every renderer process, and a pool's
    threads alike: each track keeps its own row, told apart by its process's name (or its pid
    where processes share a name too) and by its tid within one process."""
    name_of = {track: thread_names.get(track) or f"thread {track[1]}" for track in tracks}
    named = {track: (name, name) for track, name in name_of.items()}
    if len(set(name_of.values())) == len(name_of):
        return named
    sharing: dict[str, list[Track]] = {}
    for track, name in name_of.items():
        sharing.setdefault(name, []).append(track)
    for name, group in sharing.items():
        if len(group) == 1:
            continue
        pids = Counter(pid for pid, _ in group)
        processes = Counter(process_names.get(pid) for pid in pids)
        for pid, tid in group:
            process = process_names.get(pid)
            parts = []
            if len(pids) > 1:
                parts.append(process if process and processes[process] == 1 else f"pid {pid}")
            if pids[pid] > 1:
                parts.append(f"tid {tid}")
            unique = f"{name} ({', '.join(parts)})"
            named[pid, tid] = (unique, unique)
    return named


def _span(
    event: dict[str, Any], args: dict[str, Any], start: float, end: float, track: tuple[Any, Any]
) -> RawSpan:
    if end < start:  # a negative dur, or an end event before its begin
        raise _Unreadable("ends before it starts (a negative duration)")
    label = str(event.get("name", ""))
    kind = str(event.get("cat") or "span")
    task, thread = track
    if not args:
        return (label, kind, start, end, task, thread, None, None, None)
    # In another tool's trace the args are that tool's own: one of these names whose value is
    # not text is its data, not asynckit's, and is left out (a task given as 7 leaves the span
    # on its track's task). Taken as it is, it would break the plot and the saved file.
    if "task" in args and (args["task"] is None or isinstance(args["task"], str)):
        task = args["task"]  # None: a span in a worker thread
    thread = _text(args.get("thread")) or thread
    error, detail = _text(args.get("error")), _text(args.get("detail"))
    # A parent is the task that handed a span's work to a worker thread, so asynckit records
    # one only on a span that ran in a thread, outside any task. On any other span it names no
    # row the plot draws (a span with a task is drawn in its task's row): it is dropped.
    parent = _text(args.get("parent")) if task is None else None
    return (label, kind, start, end, task, thread, error, detail, parent)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _args(event: dict[str, Any]) -> dict[str, Any]:
    """The event's args (none when it has none); _Unreadable when they are not an object."""
    args = event.get("args")
    if not args:
        return {}
    if not isinstance(args, dict):
        raise _Unreadable(f"has args {_shown(args)}, not an object")
    return args


def _name_in(event: dict[str, Any]) -> str:
    """The name a thread_name or process_name metadata event gives."""
    args = event.get("args")
    name = args.get("name") if isinstance(args, dict) else None
    if not isinstance(name, str):
        raise _Unreadable(f"names a thread or process with args {_shown(args)}, not a text name")
    return name


def _start_and_end(event: dict[str, Any]) -> tuple[float, float]:
    """A complete event's start and end in seconds; _Unreadable when its ts or dur is
    missing or not a finite number. Only the end is checked, which is quicker: a start or
    duration that is not a finite number leaves no finite end."""
    try:
        start = event["ts"] / 1e6
        end = start + event.get("dur", 0) / 1e6
    except (KeyError, TypeError, OverflowError):
        end = start = nan
    if not isfinite(end):
        _seconds(event, "ts")  # to say which is wrong
        _seconds(event, "dur", 0)
        raise _Unreadable("ends later than a float can hold")
    return start, end


def _seconds(event: dict[str, Any], key: str, default: float | None = None) -> float:
    """The event's ``ts`` or ``dur``, in seconds; _Unreadable when it is missing (and has no
    default) or not a finite number."""
    value = event.get(key, default)
    number = _finite(value)
    if number is None:
        if value is None:
            raise _Unreadable(f"has no {key}")
        raise _Unreadable(f"has {key} {_shown(value)}, not a finite number of microseconds")
    return number / 1e6


def _finite(value: object) -> float | None:
    """The value as a float if it is a finite number, else None. Python's json reads NaN,
    Infinity and numbers too big for a float, which JSON does not have: a timeline holding
    them could neither be drawn nor saved as JSON."""
    if not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int of more than about 300 digits
        return None
    return number if isfinite(number) else None


def _our_tracks(tracks: object) -> dict[Track, tuple[Any, Any]]:
    """otherData.asynckit.tracks: each track's task and thread, by tid as text."""
    if not isinstance(tracks, dict):
        raise _ours_damaged("tracks", tracks, "an object of tracks by tid")
    ours = {}
    for tid, track in tracks.items():
        if not (
            tid.isdecimal()
            and isinstance(track, list)
            and len(track) == 2
            and (track[0] is None or isinstance(track[0], str))
            and isinstance(track[1], str)
        ):
            raise _ours_damaged(f"tracks[{tid!r}]", track, "a task (or null) and a thread")
        ours[PID, int(tid)] = (track[0], track[1])
    return ours


def _ours_text(ours: dict[str, Any], key: str) -> str | None:
    value = ours.get(key)
    if value is not None and not isinstance(value, str):
        raise _ours_damaged(key, value, "text or null")
    return value


def _ours_damaged(key: str, value: object, expected: str) -> _Unreadable:
    return _Unreadable(
        f"has asynckit data it cannot read: otherData.asynckit.{key} is {_shown(value)}, not "
        f"{expected}. Save the timeline again with tl.save(path), or delete "
        "otherData.asynckit from the file to read its events alone"
    )


def _bad_event(index: int, problem: object) -> _Unreadable:
    return _Unreadable(
        f"has an event asynckit cannot read: traceEvents[{index}] {problem}. Timeline.load "
        "reads the Chrome Trace Event format that tl.save(path) writes: correct or remove "
        "that event"
    )


def _shown(value: object) -> str:
    """The value as Python shows it, cut short."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _pack(values: list[float]) -> str:
    """Floats as base64 text of their little-endian float64 bytes: exact, and about twenty
    times quicker to write and read than as JSON numbers."""
    packed = array("d", values)
    if sys.byteorder == "big":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def _unpack(value: object) -> list[float] | None:
    """The floats that _pack wrote (or a plain list of numbers, as older files hold), or None
    for anything else, or when one is not finite: the events' own values are then used."""
    if isinstance(value, list):
        numbers = [_finite(v) for v in value]
        return None if None in numbers else cast(list[float], numbers)
    if not isinstance(value, str):
        return None
    try:
        packed = array("d", base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):  # not base64, or not a whole number of float64
        return None
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tolist() if all(map(isfinite, packed)) else None


def _pairs(values: Sequence[float]) -> Iterable[tuple[float, float]]:
    it = iter(values)
    return zip(it, it, strict=True)
