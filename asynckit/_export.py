"""Timelines as files: the Chrome Trace Event format that Perfetto and chrome://tracing open.

A saved timeline is one JSON object (the format's "JSON Object Format"): ``traceEvents`` holds
a metadata event (``ph: "M"``) naming each track, one track per task and per thread; a
complete event (``ph: "X"``) per span, with its kind as the category (``cat``), its start and
duration in microseconds (``ts``, ``dur``) and its task, thread, error and detail in ``args``;
and, for a timeline that measured loop lag, a counter event (``ph: "C"``) per lag sample.
Failed spans carry the colour name ``"terrible"``, cancelled ones ``"grey"``. ``otherData``
keeps what the events cannot hold exactly (the timeline's name and options, and the times in
seconds as recorded), so that reading the file back gives the same timeline. Files written by
other tools read too: complete events, begin/end pairs (``"B"``/``"E"``) and thread names.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._errors import AsynckitError

if TYPE_CHECKING:
    from ._timeline import Timeline

__all__ = ["TraceData", "read", "write"]

PID = 1
LAG_COUNTER = "loop lag"
_COLOUR_OF_STATE = {"failed": "terrible", "cancelled": "grey"}

#: A span as the timeline module stores it: (label, kind, start, end, task, thread[, error,
#: detail]), with times in seconds from the timeline's start.
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
    from . import __version__
    from ._plot import readable_rows

    spans = timeline.spans
    lanes = list(dict.fromkeys(s.lane for s in spans))
    shown = readable_rows(lanes, timeline.main_task)
    tid = {lane: index + 1 for index, lane in enumerate(lanes)}
    title = f"asynckit: {timeline.name}" if timeline.name else "asynckit timeline"
    events: list[dict[str, Any]] = [_metadata("process_name", 0, {"name": title})]
    for lane, name in zip(lanes, shown, strict=True):
        events.append(_metadata("thread_name", tid[lane], {"name": name}))
        events.append(_metadata("thread_sort_index", tid[lane], {"sort_index": tid[lane]}))
    seconds: list[float] = []
    for s in spans:
        args: dict[str, Any] = {"task": s.task, "thread": s.thread}
        if s.error is not None:
            args["error"] = s.error
        if s.detail is not None:
            args["detail"] = s.detail
        event = {
            "name": s.label,
            "cat": s.kind,
            "ph": "X",
            "ts": s.start * 1e6,
            "dur": max(s.end - s.start, 0.0) * 1e6,
            "pid": PID,
            "tid": tid[s.lane],
            "args": args,
        }
        if s.error is not None:
            event["cname"] = _COLOUR_OF_STATE["cancelled" if s.error == "cancelled" else "failed"]
        events.append(event)
        seconds += (s.start, s.end)
    lag = timeline.lag_samples
    for at, late in lag:
        events.append(
            {
                "name": LAG_COUNTER,
                "ph": "C",
                "ts": at * 1e6,
                "pid": PID,
                "tid": 0,
                "args": {"lag (ms)": late * 1000},
            }
        )
    document = {
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {
            "generator": f"asynckit {__version__}",
            "asynckit": {
                "name": timeline.name,
                "main_task": timeline.main_task,
                "tasks": timeline.tasks,
                "lag": timeline.lag,
                "elapsed": timeline.elapsed,
                # The times as recorded: microseconds in floats do not always give the same
                # seconds back, and a reloaded timeline should equal the one saved.
                "seconds": seconds,
                "lag_samples": [value for sample in lag for value in sample],
            },
        },
    }
    try:
        with open(path, "w", encoding="utf-8") as file:
            file.write(json.dumps(document, separators=(",", ":")))
    except OSError as error:
        raise AsynckitError(f"cannot write the trace to {os.fspath(path)!r}: {error}") from None


def _metadata(name: str, tid: int, args: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "ph": "M", "pid": PID, "tid": tid, "args": args}


def read(path: str | os.PathLike[str]) -> TraceData:
    """Read a trace file written by :func:`write`, or by another tool in the same format."""
    where = os.fspath(path)
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
    names: dict[tuple[Any, Any], str] = {}
    for event in events:
        if event.get("ph") == "M" and event.get("name") == "thread_name":
            names[event.get("pid"), event.get("tid")] = str(event["args"]["name"])

    spans: list[RawSpan] = []
    open_spans: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    lag: list[tuple[float, float]] = []
    for event in events:
        phase = event.get("ph")
        track = (event.get("pid"), event.get("tid"))
        if phase == "X":
            start = float(event["ts"]) / 1e6
            spans.append(_span(event, start, start + float(event.get("dur", 0)) / 1e6, names))
        elif phase == "B":
            open_spans.setdefault(track, []).append(event)
        elif phase == "E" and open_spans.get(track):
            begun = open_spans[track].pop()
            merged = {**begun, "args": {**begun.get("args", {}), **event.get("args", {})}}
            spans.append(
                _span(merged, float(begun["ts"]) / 1e6, float(event["ts"]) / 1e6, names)
            )
        elif phase == "C" and event.get("name") == LAG_COUNTER:
            (value,) = event["args"].values()
            lag.append((float(event["ts"]) / 1e6, float(value) / 1000))

    data = TraceData(spans=spans, lag_samples=lag, lag=bool(lag))
    if isinstance(ours, dict):
        data.name = ours.get("name")
        data.main_task = ours.get("main_task")
        data.tasks = bool(ours.get("tasks"))
        data.lag = bool(ours.get("lag"))
        elapsed = ours.get("elapsed")
        data.elapsed = float(elapsed) if elapsed is not None else None
        exact = ours.get("seconds")
        if isinstance(exact, list) and len(exact) == 2 * len(spans):
            data.spans = [(*s[:2], *pair, *s[4:]) for s, pair in zip(spans, _pairs(exact))]
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
    event: dict[str, Any], start: float, end: float, names: dict[tuple[Any, Any], str]
) -> RawSpan:
    args = event.get("args") or {}
    track = names.get((event.get("pid"), event.get("tid")), f"thread {event.get('tid')}")
    task = args["task"] if "task" in args else track
    thread = args["thread"] if "thread" in args else track
    label = str(event.get("name", ""))
    kind = str(event.get("cat") or "span")
    error, detail = args.get("error"), args.get("detail")
    if error is None and detail is None:
        return (label, kind, start, end, task, thread)
    return (label, kind, start, end, task, thread, error, detail)


def _pairs(values: Sequence[Any]) -> Iterable[tuple[float, float]]:
    it = iter(values)
    return ((float(a), float(b)) for a, b in zip(it, it, strict=True))
