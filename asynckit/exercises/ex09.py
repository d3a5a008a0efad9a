"""Exercises of 09 See your own code."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from .. import Timeline, span, traced
from .._timeline import peak_overlap
from ._exercise import Exercise, Mistake, function, local_api

__all__ = ["q1", "q2", "q3"]

q1 = Exercise(
    "q1",
    "Trace a session of your own",
    hint="""
        Make the session with `aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=4),
        trace_configs=[asynckit.trace_config()])`, then start one request per id and gather
        them: the pool lets four through at a time, and the trace config records each one.
    """,
    solution="""
        async def titles(url, ids):
            connector = aiohttp.TCPConnector(limit=4)
            traced = [asynckit.trace_config()]
            async with aiohttp.ClientSession(connector=connector, trace_configs=traced) as session:
                async def title(i):
                    async with session.get(f"{url}/posts/{i}") as response:
                        return (await response.json())["title"]
                return await asyncio.gather(*(title(i) for i in ids))
    """,
)


@q1.checks
async def _titles(titles: Any) -> str:
    titles = function(titles, "titles")
    api = local_api(latency=0.05)
    ids = list(range(1, 13))
    with Timeline() as tl:
        got = await titles(api.url, ids)
    requests = [s for s in tl.spans if s.kind == "request"]
    if not requests:
        raise Mistake(
            "the timeline recorded no request: create the session with "
            "trace_configs=[asynckit.trace_config()], or its requests stay unseen"
        )
    expected = [p["title"] for p in _posts(ids)]
    if got is None or list(got) != expected:
        raise Mistake(f"titles(url, {ids}) returned {got!r:.120}, not the 12 titles in order")
    at_once = peak_overlap(requests)
    if at_once < 2:
        raise Mistake(
            f"the {len(requests)} requests ran one after another ({tl.duration:.2f} s): "
            "start them all, then gather"
        )
    if at_once > 4:
        raise Mistake(
            f"{at_once} requests were in flight at once: give the session a connector with "
            "limit=4, so the pool itself holds the rest back"
        )
    waits = [s for s in tl.spans if s.kind == "wait"]
    return (
        f"12 requests, at most {at_once} in flight, {len(waits)} of them waited for a "
        f"connection of the pool: {tl.duration:.2f} s in all"
    )


def _posts(ids: list[int]) -> list[dict[str, Any]]:
    from .._data import load_text

    posts = {p["id"]: p for p in json.loads(load_text("posts"))}
    return [posts[i] for i in ids]


q2 = Exercise(
    "q2",
    "Name the call that froze the loop",
    hint="""
        A lag sample `(t, lag)` says the loop could not run anything from `t - lag` to `t`.
        Take the sample with the largest lag. A span that waited (and let the loop run) is
        much longer than that stretch; the span that froze the loop spent nearly all of its
        time inside it. Return the label of the span (not a task) with the largest share of
        its duration inside the stretch.
    """,
    solution="""
        def blocked_by(tl):
            at, lag = max(tl.lag_samples, key=lambda sample: sample[1])
            frozen_from = at - lag
            def share_inside(s):
                return (min(s.end, at) - max(s.start, frozen_from)) / s.duration
            suspects = [s for s in tl.spans if s.kind != "task" and s.duration > 0]
            return max(suspects, key=share_inside).label
    """,
)


@traced("load config")
def _load_config() -> None:
    time.sleep(0.002)


@traced("resize images")
def _resize_images() -> None:
    time.sleep(0.25)  # the blocking call: a sync function called from a coroutine


async def _program() -> None:
    async def download() -> None:
        async with span("download", kind="span"):
            await asyncio.sleep(0.6)  # the longest span, but it lets the loop run

    async def pipeline() -> None:
        _load_config()
        await asyncio.sleep(0.15)
        _resize_images()
        await asyncio.sleep(0.05)

    await asyncio.gather(download(), pipeline())


@q2.checks
async def _blocked_by(blocked_by: Any) -> str:
    blocked_by = function(blocked_by, "blocked_by", coroutine=False)
    with Timeline(lag=True) as tl:
        await _program()
    answer = blocked_by(tl)
    if answer == "download":
        raise Mistake(
            "blocked_by named 'download', the longest span, but it waits in asyncio.sleep and "
            "the loop runs meanwhile: look where the lag spiked, and what ran just before"
        )
    if answer != "resize images":
        raise Mistake(
            f"blocked_by returned {answer!r}, not the span that ran while the lag trace "
            f"spiked to {tl.max_lag * 1000:.0f} ms"
        )
    return f"'resize images' held the loop: the lag spiked to {tl.max_lag * 1000:.0f} ms"


q3 = Exercise(
    "q3",
    "Count the requests in flight",
    hint="""
        Keep the spans of kind "request". Turn each into two edges, `(start, +1)` and
        `(end, -1)`, sort them (at equal times -1 sorts first, so touching is not
        overlapping), and keep a running sum: its maximum is the answer.
    """,
    solution="""
        def peak_in_flight(tl):
            requests = [s for s in tl.spans if s.kind == "request"]
            edges = sorted([(s.start, 1) for s in requests] + [(s.end, -1) for s in requests])
            running = peak = 0
            for _, step in edges:
                running += step
                peak = max(peak, running)
            return peak
    """,
)

#: (label, kind, start, end, task) of the saved trace the check loads.
_TRACE = [
    ("GET /posts/1", "request", 0.00, 0.10, "a"),
    ("GET /posts/2", "request", 0.00, 0.10, "b"),
    ("GET /posts/3", "request", 0.10, 0.20, "a"),  # starts as 1 ends: touching, not overlapping
    ("GET /posts/4", "request", 0.10, 0.20, "b"),
    ("GET /posts/5", "request", 0.12, 0.18, "c"),
    ("pool wait", "wait", 0.00, 0.12, "c"),
    ("parse", "work", 0.05, 0.15, "d"),
    ("main", "task", 0.00, 0.25, "e"),
]


@q3.checks
async def _peak_in_flight(peak_in_flight: Any) -> str:
    peak_in_flight = function(peak_in_flight, "peak_in_flight", coroutine=False)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "trace.json"
        path.write_text(json.dumps(_trace_events()))
        tl = Timeline.load(path)
    answer = peak_in_flight(tl)
    if answer == 5 or (answer == 4 and _counts_other_kinds(peak_in_flight)):
        raise Mistake(
            f"peak_in_flight said {answer}: it counted spans that are not requests (a pool "
            "wait, a parse, a task); keep only the spans of kind 'request'"
        )
    if answer == 4:
        raise Mistake(
            "peak_in_flight said 4: it counted GET /posts/1 and GET /posts/3 as overlapping, "
            "but one ends exactly when the other starts; at equal times, count the end first"
        )
    if answer is None:
        raise Mistake("peak_in_flight returned None: return the number of requests in flight")
    if answer != 3:
        raise Mistake(
            f"peak_in_flight returned {answer!r}, which is not the most requests this timeline "
            "had in flight at one moment: walk through the starts and ends in time order, "
            "one more at each start and one less at each end, and keep the highest count"
        )
    return "3 requests in flight at most (posts 3, 4 and 5, from 0.12 s to 0.18 s)"


def _trace_events() -> list[dict[str, Any]]:
    return [
        {
            "name": label,
            "cat": kind,
            "ph": "X",
            "ts": round(start * 1e6),
            "dur": round((end - start) * 1e6),
            "pid": 1,
            "tid": ord(task),
            "args": {"task": task, "thread": "MainThread"},
        }
        for label, kind, start, end, task in _TRACE
    ]


def _counts_other_kinds(peak_in_flight: Any) -> bool:
    """Whether the answer counts spans of other kinds: on requests alone it says 3."""
    only_requests = Timeline()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "requests.json"
        path.write_text(json.dumps([e for e in _trace_events() if e["cat"] == "request"]))
        only_requests = Timeline.load(path)
    return bool(peak_in_flight(only_requests) == 3)
