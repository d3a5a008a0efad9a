"""Timeline.save and Timeline.load: the Chrome Trace Event format, written to its documented
schema and read back equal to what was saved."""

import asyncio
import base64
import codecs
import contextlib
import gc
import gzip
import json
import math
import numbers
import os
import struct
import threading

import pytest

import asynckit


async def busy_timeline():
    """A timeline with a bit of everything: tasks, a failure, a cancellation, a worker
    thread, a detail, and the loop lag."""

    async def fails():
        await asynckit.sleep(0.01, label="about to fail")
        raise ValueError("no")

    async def slow():
        await asynckit.sleep(10, label="cancelled nap")

    with asynckit.Timeline("busy", tasks=True, lag=True) as tl:
        straggler = asyncio.create_task(slow(), name="straggler")
        results = await asyncio.gather(
            asynckit.sleep(0.02, label="nap"),
            fails(),
            asyncio.to_thread(asynckit.work, 0.01, "in a thread"),
            return_exceptions=True,
        )
        async with asynckit.span("parse", kind="work") as s:
            s.detail = "3 posts"
        straggler.cancel()
        await asyncio.gather(straggler, return_exceptions=True)
    assert isinstance(results[1], ValueError)
    return tl


@pytest.fixture(scope="module")
def timeline():
    return asyncio.run(busy_timeline())


def same(a, b):
    assert a.name == b.name
    assert a.spans == b.spans
    assert a.main_task == b.main_task
    assert a.lag_samples == b.lag_samples
    assert (a.tasks, a.lag, a.elapsed, a.duration, a.max_lag) == (
        b.tasks,
        b.lag,
        b.elapsed,
        b.duration,
        b.max_lag,
    )


def test_the_round_trip_gives_the_same_timeline(timeline, tmp_path):
    kinds = {s.kind for s in timeline.spans}
    assert {"sleep", "task", "work"} <= kinds
    assert {s.error for s in timeline.spans} >= {None, "ValueError", "cancelled"}
    assert any(s.task is None for s in timeline.spans)  # the worker thread's span
    assert timeline.lag_samples
    path = tmp_path / "busy.json"
    timeline.save(path)
    loaded = asynckit.Timeline.load(path)
    same(loaded, timeline)
    assert "done" in repr(loaded)
    loaded.save(tmp_path / "again.json")  # a loaded timeline saves the same file again
    assert (tmp_path / "again.json").read_text() == path.read_text()


def test_the_writer_follows_the_trace_event_format(timeline, tmp_path):
    path = tmp_path / "trace.json"
    timeline.save(str(path))
    document = json.loads(path.read_text())
    # JSON Object Format: traceEvents, an optional displayTimeUnit of "ms" or "ns", otherData.
    assert set(document) == {"traceEvents", "displayTimeUnit", "otherData"}
    assert document["displayTimeUnit"] in ("ms", "ns")
    events = document["traceEvents"]
    phases = {e["ph"] for e in events}
    assert phases == {"M", "X", "C", "s", "f"}
    for event in events:
        # Every event: a name, a phase, a process and a thread id.
        assert isinstance(event["name"], str) and isinstance(event["ph"], str)
        assert isinstance(event["pid"], int) and isinstance(event["tid"], int)
        if event["ph"] == "X":  # complete event: ts and dur in microseconds, cat, args
            assert set(event) <= {"name", "cat", "ph", "ts", "dur", "pid", "tid", "args", "cname"}
            assert isinstance(event["ts"], numbers.Real) and isinstance(event["dur"], numbers.Real)
            assert event["dur"] >= 0 and event["ts"] >= 0
            assert isinstance(event["cat"], str) and isinstance(event["args"], dict)
        elif event["ph"] == "M":  # metadata: names and order of the process and its threads
            assert event["name"] in {"process_name", "thread_name", "thread_sort_index"}
            key = "sort_index" if event["name"].endswith("sort_index") else "name"
            assert set(event["args"]) == {key}
        elif event["ph"] == "C":  # counter: numeric series in args
            assert isinstance(event["ts"], numbers.Real)
            assert all(isinstance(v, numbers.Real) for v in event["args"].values())
        elif event["ph"] in ("s", "f"):  # flow: cat and id pair a start with its end
            assert set(event) <= {"name", "cat", "ph", "ts", "pid", "tid", "id", "bp"}
            assert isinstance(event["ts"], numbers.Real) and isinstance(event["id"], int)
            assert isinstance(event["cat"], str)
            assert event.get("bp", "e") == "e"  # "f" binds to the slice enclosing its ts
    complete = [e for e in events if e["ph"] == "X"]
    assert len(complete) == len(timeline.spans)
    # Microseconds: a 20 ms nap lasts about 20,000 units.
    (nap,) = [e for e in complete if e["name"] == "nap"]
    assert 15_000 < nap["dur"] < 1_000_000
    # One track per task and per thread, each named once; kinds as categories.
    names = {e["tid"]: e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert len(names) == len(set(names.values())) == len({s.lane for s in timeline.spans})
    assert "main" in names.values() and "thread asyncio_0" in names.values()
    # The work gather's to_thread task handed to a thread: on that thread's track, with a
    # flow from the task's track to it.
    (handed,) = [e for e in complete if e["cat"] == "thread"]
    assert handed["name"] == "work" and names[handed["tid"]] == "thread asyncio_0"
    (awaiting,) = [e for e in complete if e["cat"] == "task" and e["name"] == "to_thread"]
    (parent,) = {s.parent for s in timeline.spans if s.kind == "thread"}
    assert handed["args"]["parent"] == parent
    start, end = sorted((e for e in events if e["ph"] in "sf"), key=lambda e: e["ph"] == "f")
    assert start["ph"] == "s" and start["tid"] == awaiting["tid"]
    assert end["ph"] == "f" and end["tid"] == handed["tid"] and end["ts"] == handed["ts"]
    assert (start["id"], start["cat"], start["ts"]) == (end["id"], end["cat"], end["ts"])
    assert {e["cat"] for e in complete} == {s.kind for s in timeline.spans}
    assert all(e["tid"] in names for e in complete)
    # Errors are marked: in the details, and by a colour.
    (failed,) = [e for e in complete if e["name"].endswith(".fails")]
    assert failed["args"]["error"] == "ValueError" and failed["cname"] == "terrible"
    (cancelled,) = [e for e in complete if e["name"] == "cancelled nap"]
    assert cancelled["args"]["error"] == "cancelled" and cancelled["cname"] == "grey"
    assert next(e for e in complete if e["name"] == "parse")["args"]["detail"] == "3 posts"


def test_a_trace_from_another_tool_reads_as_spans(tmp_path):
    events = [
        {"name": "thread_name", "ph": "M", "pid": 7, "tid": 3, "args": {"name": "worker"}},
        {"name": "load", "cat": "io", "ph": "B", "ts": 1000, "pid": 7, "tid": 3},
        {"name": "load", "ph": "E", "ts": 251000, "pid": 7, "tid": 3, "args": {"n": 1}},
        {"name": "draw", "ph": "X", "ts": 500, "dur": 1500, "pid": 7, "tid": 4},
        {"name": "mark", "ph": "i", "ts": 700, "pid": 7, "tid": 4, "s": "t"},
    ]
    path = tmp_path / "other.json"
    path.write_text(json.dumps(events))  # the JSON Array Format
    tl = asynckit.Timeline.load(path)
    draw, load = tl.spans
    assert (draw.label, draw.kind, draw.task, draw.start) == ("draw", "span", "thread 4", 0.0)
    assert draw.end == pytest.approx(0.0015)
    assert (load.label, load.kind, load.task, load.thread) == ("load", "io", "worker", "worker")
    assert load.start == pytest.approx(0.0005) and load.duration == pytest.approx(0.25)
    assert tl.elapsed == pytest.approx(0.2505)


def test_files_that_are_not_traces_get_a_clear_error(tmp_path):
    with pytest.raises(asynckit.AsynckitError, match="no trace file"):
        asynckit.Timeline.load(tmp_path / "missing.json")
    (tmp_path / "text.json").write_text("hello")
    with pytest.raises(asynckit.AsynckitError, match="not a JSON trace file"):
        asynckit.Timeline.load(tmp_path / "text.json")
    (tmp_path / "other.json").write_text('{"posts": []}')
    with pytest.raises(asynckit.AsynckitError, match="no traceEvents"):
        asynckit.Timeline.load(tmp_path / "other.json")
    (tmp_path / "broken.json").write_text('{"traceEvents": [{"ph": "X", "name": "a"}]}')
    with pytest.raises(asynckit.AsynckitError, match="cannot read"):
        asynckit.Timeline.load(tmp_path / "broken.json")
    with pytest.raises(asynckit.AsynckitError, match="cannot write"):
        asynckit.Timeline().save(tmp_path / "no such folder" / "t.json")


def test_a_large_timeline_round_trips(tmp_path):
    async def main():
        with asynckit.Timeline() as tl:
            await asyncio.gather(*(asynckit.sleep(0) for _ in range(5_000)))
        return tl

    tl = asyncio.run(main())
    tl.save(tmp_path / "large.json")
    same(asynckit.Timeline.load(tmp_path / "large.json"), tl)


def test_the_exact_times_are_packed_and_older_or_damaged_ones_still_read(timeline, tmp_path):
    path = tmp_path / "trace.json"
    timeline.save(path)
    document = json.loads(path.read_text())
    ours = document["otherData"]["asynckit"]
    packed = ours["seconds"]
    assert isinstance(packed, str)  # float64, little-endian, base64: exact and compact
    seconds = [value for s in timeline.spans for value in (s.start, s.end)]
    assert list(struct.unpack(f"<{len(seconds)}d", base64.b64decode(packed))) == seconds
    # A file written with the times as a JSON list (as asynckit wrote them before) reads
    # exactly too.
    ours["seconds"] = seconds
    path.write_text(json.dumps(document))
    same(asynckit.Timeline.load(path), timeline)
    # Damaged: not base64, or cut short. The events' own microseconds are used instead.
    for damaged in ("not base64!", packed[:-8]):
        ours["seconds"] = damaged
        path.write_text(json.dumps(document))
        loaded = asynckit.Timeline.load(path)
        assert [s.label for s in loaded.spans] == [s.label for s in timeline.spans]
        for a, b in zip(loaded.spans, timeline.spans, strict=True):
            assert a.start == pytest.approx(b.start, abs=1e-8)
            assert a.end == pytest.approx(b.end, abs=1e-8)


@pytest.mark.parametrize("enabled", [True, False])
def test_saving_and_loading_leave_the_garbage_collector_as_they_found_it(
    timeline, tmp_path, enabled
):
    # They pause it while they build many objects: it must come back on, even after an
    # error, and stay off if it was off.
    (tmp_path / "text.json").write_text("hello")
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        timeline.save(tmp_path / "trace.json")
        assert gc.isenabled() is enabled
        asynckit.Timeline.load(tmp_path / "trace.json").spans  # noqa: B018
        assert gc.isenabled() is enabled
        with pytest.raises(asynckit.AsynckitError):
            asynckit.Timeline.load(tmp_path / "text.json")
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def complete(**fields):
    """A complete event of another tool: 1 ms long, on pid 1, tid 1, with ``fields`` added."""
    return {"name": "a", "ph": "X", "ts": 0, "dur": 1000, "pid": 1, "tid": 1, **fields}


def events_file(tmp_path, events, **document):
    path = tmp_path / "trace.json"
    path.write_text(json.dumps({"traceEvents": events, **document}))
    return path


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('["not", "events"]', r"traceEvents\[0\] is 'not', not an event object"),
        ('{"traceEvents": [1, 2, 3]}', r"traceEvents\[0\] is 1, not an event object"),
        (json.dumps({"traceEvents": [complete(args=[1])]}), r"has args \[1\], not an object"),
        (json.dumps({"traceEvents": [complete(tid=[1])]}), "pid or tid that is neither"),
        (json.dumps({"traceEvents": [complete(ts=10**400)]}), "has ts 1000.*not a finite"),
        (json.dumps({"traceEvents": [complete(ts="soon")]}), "has ts 'soon', not a finite"),
        (json.dumps({"traceEvents": [complete(ts=float("nan"))]}), "has ts nan, not a finite"),
        (json.dumps({"traceEvents": [complete(dur=float("inf"))]}), "has dur inf, not a finite"),
        (json.dumps({"traceEvents": [complete(ts=1e400)]}), "has ts inf, not a finite"),
        (json.dumps({"traceEvents": [complete(dur=-5)]}), "ends before it starts"),
        (
            json.dumps(
                {
                    "traceEvents": [
                        {"ph": "B", "name": "a", "ts": 1000, "pid": 1, "tid": 1},
                        {"ph": "E", "ts": 0, "pid": 1, "tid": 1},
                    ]
                }
            ),
            r"traceEvents\[1\] ends before it starts",
        ),
        (
            json.dumps({"traceEvents": [{"ph": "C", "name": "loop lag", "ts": 0, "args": [1]}]}),
            r"traceEvents\[0\] has args \[1\], not an object",
        ),
        (
            json.dumps({"traceEvents": [{"ph": "C", "name": "loop lag", "ts": 0, "args": {}}]}),
            "loop lag counter without one finite number",
        ),
        (
            json.dumps({"traceEvents": [{"ph": "M", "name": "thread_name", "pid": 1, "tid": 1}]}),
            "names a thread or process with args None, not a text name",
        ),
        (
            json.dumps({"traceEvents": [], "otherData": {"asynckit": {"name": 5}}}),
            "otherData.asynckit.name is 5, not text or null",
        ),
        (
            json.dumps({"traceEvents": [], "otherData": {"asynckit": {"main_task": 7}}}),
            "otherData.asynckit.main_task is 7, not text or null",
        ),
        (
            json.dumps({"traceEvents": [], "otherData": {"asynckit": {"tracks": []}}}),
            r"otherData.asynckit.tracks is \[\], not an object",
        ),
        (
            json.dumps({"traceEvents": [], "otherData": {"asynckit": {"tracks": {"1": 2}}}}),
            r"otherData.asynckit.tracks\['1'\] is 2, not a task",
        ),
        (
            json.dumps({"traceEvents": [], "otherData": {"asynckit": {"elapsed": float("nan")}}}),
            "otherData.asynckit.elapsed is nan, not a finite number",
        ),
        ('{"traceEvents": ' + "[" * 100_000 + "]" * 100_000 + "}", "its JSON nests too deeply"),
    ],
    ids=[
        "array of strings",
        "events that are numbers",
        "args a list",
        "tid a list",
        "ts of 400 digits",
        "ts as text",
        "ts NaN",
        "dur Infinity",
        "ts beyond a float",
        "dur negative",
        "end event before its begin",
        "lag counter's args a list",
        "lag counter without a value",
        "thread name without args",
        "timeline name a number",
        "main task a number",
        "tracks a list",
        "track a number",
        "elapsed NaN",
        "deeply nested",
    ],
)
def test_a_file_asynckit_cannot_read_gets_an_error_naming_it_and_what_to_do(
    tmp_path, text, problem
):
    path = tmp_path / "odd.json"
    path.write_text(text)
    with pytest.raises(asynckit.AsynckitError, match=problem) as caught:
        asynckit.Timeline.load(path)
    message = str(caught.value)
    assert repr(str(path)) in message
    assert "tl.save(path)" in message  # what asynckit reads, or how to write the file again


def test_args_asynckit_cannot_use_are_left_out_so_the_timeline_draws_and_saves(tmp_path):
    # Another tool's args are its own: a task that is not text, or a parent on a span that
    # did not run in a worker thread (it would name a row that is not drawn), are not taken.
    path = events_file(
        tmp_path,
        [
            complete(name="ghost", args={"parent": "ghost"}),
            complete(name="seventh", args={"task": 7, "thread": [1], "error": [1]}),
            complete(name="chrome", args={"task": {"posted_from": "x.cc"}, "detail": {"k": 1}}),
            complete(name="handed", tid=2, args={"task": None, "parent": "main"}),
        ],
    )
    tl = asynckit.Timeline.load(path)
    ghost, seventh, chrome, handed = tl.spans
    assert ghost.parent is None and ghost.task == "thread 1"
    assert (seventh.task, seventh.thread, seventh.error) == ("thread 1", "thread 1", None)
    assert (chrome.task, chrome.detail) == ("thread 1", None)
    # Work handed to a thread keeps its parent: that is what asynckit records.
    assert (handed.task, handed.parent) == (None, "main")
    assert tl._repr_png_().startswith(b"\x89PNG")
    tl.save(tmp_path / "again.json")
    assert asynckit.Timeline.load(tmp_path / "again.json").spans == tl.spans


def test_exact_times_not_finite_or_out_of_order_give_way_to_the_events_own(timeline, tmp_path):
    path = tmp_path / "trace.json"
    timeline.save(path)
    document = json.loads(path.read_text())
    ours = document["otherData"]["asynckit"]
    seconds = [value for s in timeline.spans for value in (s.start, s.end)]
    for damaged in (
        base64.b64encode(struct.pack(f"<{len(seconds)}d", math.nan, *seconds[1:])).decode(),
        [math.inf, *seconds[1:]],
        [seconds[1], seconds[0], *seconds[2:]],  # the first span would end before it starts
    ):
        ours["seconds"] = damaged
        path.write_text(json.dumps(document))
        loaded = asynckit.Timeline.load(path)
        assert loaded.spans[0].start == pytest.approx(timeline.spans[0].start, abs=1e-8)
        assert loaded.spans[0].end == pytest.approx(timeline.spans[0].end, abs=1e-8)
        assert all(math.isfinite(s.start) and math.isfinite(s.end) for s in loaded.spans)
        # The exact lag samples likewise.
        ours["lag_samples"] = [math.nan] * (2 * len(timeline.lag_samples))
        path.write_text(json.dumps(document))
        assert all(math.isfinite(v) for s in asynckit.Timeline.load(path).lag_samples for v in s)


def test_each_thread_of_another_tool_keeps_its_own_row(tmp_path):
    def thread(pid, tid, name):
        return {"name": "thread_name", "ph": "M", "pid": pid, "tid": tid, "args": {"name": name}}

    def process(pid, name):
        return {"name": "process_name", "ph": "M", "pid": pid, "tid": 0, "args": {"name": name}}

    path = events_file(
        tmp_path,
        [
            # Chrome: a CrRendererMain in each renderer process, the same tids in each.
            process(10, "Renderer A"),
            process(20, "Renderer B"),
            thread(10, 1, "CrRendererMain"),
            thread(20, 1, "CrRendererMain"),
            complete(name="layout A", pid=10, tid=1),
            complete(name="layout B", pid=20, tid=1),
            complete(name="unnamed A", pid=10, tid=7),
            complete(name="unnamed B", pid=20, tid=7),
            # Two processes of one name, and a pool's threads of one name in one process.
            process(30, "Renderer"),
            process(40, "Renderer"),
            thread(30, 1, "Compositor"),
            thread(40, 1, "Compositor"),
            thread(30, 2, "Compositor"),
            complete(name="c 30.1", pid=30, tid=1),
            complete(name="c 40.1", pid=40, tid=1),
            complete(name="c 30.2", pid=30, tid=2),
            # A name of its own is left as it is.
            thread(10, 3, "Chrome_IOThread"),
            complete(name="io", pid=10, tid=3),
        ],
    )
    rows = {s.label: s.lane for s in asynckit.Timeline.load(path).spans}
    assert rows == {
        "layout A": "CrRendererMain (Renderer A)",
        "layout B": "CrRendererMain (Renderer B)",
        "unnamed A": "thread 7 (Renderer A)",
        "unnamed B": "thread 7 (Renderer B)",
        "c 30.1": "Compositor (pid 30, tid 1)",
        "c 40.1": "Compositor (pid 40)",
        "c 30.2": "Compositor (pid 30, tid 2)",
        "io": "Chrome_IOThread",
    }


@pytest.mark.parametrize("name", ["trace.json.gz", "trace.json"])
def test_a_gzip_compressed_trace_reads_whatever_its_name(timeline, tmp_path, name):
    timeline.save(tmp_path / "plain.json")
    path = tmp_path / name
    path.write_bytes(gzip.compress((tmp_path / "plain.json").read_bytes()))
    same(asynckit.Timeline.load(path), timeline)
    path.write_bytes(path.read_bytes()[:-20])  # cut short
    with pytest.raises(asynckit.AsynckitError, match="gzip-compressed but does not decompress"):
        asynckit.Timeline.load(path)


@pytest.mark.parametrize("compressed", [True, False])
def test_a_trace_that_unpacks_past_the_limit_is_refused_before_it_fills_memory(
    timeline, tmp_path, monkeypatch, compressed
):
    from asynckit import _export

    timeline.save(tmp_path / "trace.json")
    size = (tmp_path / "trace.json").stat().st_size
    monkeypatch.setattr(_export, "MAX_JSON_BYTES", size)  # the limit, scaled down
    same(asynckit.Timeline.load(tmp_path / "trace.json"), timeline)  # up to it: read
    # Past it: a few kilobytes of gzip that unpack to a million spaces, or the plain spaces.
    padded = (tmp_path / "trace.json").read_bytes() + b" " * 1_000_000
    path = tmp_path / "padded.json"
    path.write_bytes(gzip.compress(padded) if compressed else padded)
    assert path.stat().st_size < 10_000 or not compressed
    with pytest.raises(asynckit.AsynckitError, match=r"more than [\d,]+ MB of JSON.*ui\.perfetto"):
        asynckit.Timeline.load(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX's")
def test_a_pipe_that_tells_no_size_is_read_only_up_to_the_limit(timeline, tmp_path, monkeypatch):
    from asynckit import _export

    monkeypatch.setattr(_export, "MAX_JSON_BYTES", 1_000)  # the limit, scaled down
    pipe = tmp_path / "trace.json"
    os.mkfifo(pipe)

    def write() -> None:
        with contextlib.suppress(BrokenPipeError), open(pipe, "wb") as writer:
            writer.write(b" " * 1_000_000)  # far past the limit, unless the reader stops

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    with pytest.raises(asynckit.AsynckitError, match=r"more than [\d,]+ MB of JSON"):
        asynckit.Timeline.load(pipe)
    writer.join(timeout=10)
    assert not writer.is_alive()  # the reader closed the pipe after the limit


def test_a_byte_order_mark_is_read_past(timeline, tmp_path):
    path = tmp_path / "trace.json"
    timeline.save(path)
    path.write_bytes(codecs.BOM_UTF8 + path.read_bytes())
    same(asynckit.Timeline.load(path), timeline)
