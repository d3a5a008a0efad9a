"""Timeline and Span: what is recorded, where, and how it reads back."""

import asyncio
import dataclasses
import gc
import sys
import threading
import types

import curio
import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

import asynckit


def test_records_concurrent_sleeps_in_start_order_with_task_names():
    async def main():
        with asynckit.Timeline() as tl:
            await asyncio.gather(*(asynckit.sleep(0.05, label=f"job {i}") for i in range(3)))
        return tl

    tl = asyncio.run(main())
    assert [s.label for s in tl.spans] == ["job 0", "job 1", "job 2"]
    assert all(s.kind == "sleep" and s.error is None for s in tl.spans)
    assert len({s.task for s in tl.spans}) == 3
    assert all(s.thread == "MainThread" for s in tl.spans)
    starts = [s.start for s in tl.spans]
    assert starts == sorted(starts) and starts[0] >= 0
    # They overlap: every one starts before any ends (run one after another, none would).
    assert max(s.start for s in tl.spans) < min(s.end for s in tl.spans)
    assert all(s.duration >= 0.045 for s in tl.spans) and tl.duration >= 0.05


def test_spans_are_immutable_and_records_are_plain_dicts():
    async def main():
        with asynckit.Timeline() as tl:
            await asynckit.sleep(0)
        return tl

    tl = asyncio.run(main())
    with pytest.raises(dataclasses.FrozenInstanceError):
        tl.spans[0].label = "changed"  # type: ignore[misc]
    (record,) = tl.records()
    assert set(record) == {
        "label",
        "kind",
        "start",
        "end",
        "task",
        "thread",
        "error",
        "detail",
        "parent",
        "duration",
    }
    assert record["label"] == "sleep(0)" and record["kind"] == "sleep"


def test_nothing_is_recorded_outside_a_timeline_and_it_still_sleeps():
    async def main():
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asynckit.sleep(0.02)
        return loop.time() - started

    assert asyncio.run(main()) >= 0.015


def test_nested_timelines_record_in_the_innermost_only():
    async def main():
        with asynckit.Timeline(name="outer") as outer:
            await asynckit.sleep(0, label="a")
            with asynckit.Timeline(name="inner") as inner:
                await asynckit.sleep(0, label="b")
            await asynckit.sleep(0, label="c")
        return outer, inner

    outer, inner = asyncio.run(main())
    assert [s.label for s in outer.spans] == ["a", "c"]
    assert [s.label for s in inner.spans] == ["b"]


def test_concurrent_tasks_with_their_own_timelines_do_not_mix():
    async def worker(name):
        with asynckit.Timeline(name=name) as tl:
            for _ in range(3):
                await asynckit.sleep(0.001, label=name)
        return tl

    async def main():
        return await asyncio.gather(worker("x"), worker("y"))

    x, y = asyncio.run(main())
    assert {s.label for s in x.spans} == {"x"} and len(x) == 3
    assert {s.label for s in y.spans} == {"y"} and len(y) == 3


def test_spans_that_finish_after_the_block_are_not_added():
    async def main():
        with asynckit.Timeline() as tl:
            straggler = asyncio.create_task(asynckit.sleep(0.01, label="late"))
            await asynckit.sleep(0, label="early")
        await straggler
        return tl

    assert [s.label for s in asyncio.run(main()).spans] == ["early"]


def test_a_timeline_records_once():
    tl = asynckit.Timeline()
    with tl:
        pass
    with pytest.raises(asynckit.AsynckitError, match="make a new Timeline"), tl:
        pass


def test_empty_timeline_reads_back_cleanly():
    tl = asynckit.Timeline(name="nothing")
    assert tl.spans == [] and tl.duration == 0.0 and tl.records() == []
    assert "not started" in repr(tl)
    with tl:
        pass
    assert "0 spans" in repr(tl)


def test_timeline_name_must_be_text():
    with pytest.raises(TypeError, match="name"):
        asynckit.Timeline(name=3)  # type: ignore[arg-type]


def test_worker_threads_record_into_the_starting_tasks_timeline():
    async def main():
        with asynckit.Timeline() as tl:
            await asyncio.to_thread(asynckit.work, 0.01, "in a thread")
        return tl

    (s,) = asyncio.run(main()).spans
    assert s.label == "in a thread" and s.kind == "work"
    assert s.task is None and s.thread != "MainThread"
    assert s.lane == f"thread {s.thread}"


def test_threads_names_each_thread_that_recorded_without_making_span_objects():
    async def main():
        with asynckit.Timeline() as tl:
            await asynckit.sleep(0)
            await asyncio.to_thread(asynckit.work, 0, "in a thread")
        return tl, threading.current_thread().name

    tl, here = asyncio.run(main())
    threads = tl.threads
    assert tl._cache is None  # read from the spans as recorded
    worker = next(s.thread for s in tl.spans if s.kind == "work")
    assert threads == {here, worker} and worker != here
    assert asynckit.Timeline().threads == set()


def test_many_threads_record_without_losing_spans():
    async def main():
        with asynckit.Timeline() as tl:
            await asyncio.gather(*(asyncio.to_thread(asynckit.work, 0) for _ in range(200)))
        return tl

    assert len(asyncio.run(main()).spans) == 200


def test_under_trio_children_inherit_the_timeline():
    async def main():
        with asynckit.Timeline() as tl:
            async with trio.open_nursery() as nursery:
                for i in range(3):
                    nursery.start_soon(asynckit.sleep, 0.05, f"t{i}")
        return tl

    tl = trio.run(main)
    assert sorted(s.label for s in tl.spans) == ["t0", "t1", "t2"]
    # Trio names all three after the function; the timeline keeps them on separate rows.
    assert len({s.task for s in tl.spans}) == 3
    assert max(s.start for s in tl.spans) < min(s.end for s in tl.spans)  # they overlap


def test_under_curio_spawned_tasks_record():
    async def main():
        with asynckit.Timeline() as tl:
            async with curio.TaskGroup() as group:
                for i in range(3):
                    await group.spawn(asynckit.sleep, 0.05, f"c{i}")
        return tl

    tl = curio.run(main)
    assert sorted(s.label for s in tl.spans) == ["c0", "c1", "c2"]
    assert len({s.task for s in tl.spans}) == 3
    assert max(s.start for s in tl.spans) < min(s.end for s in tl.spans)  # they overlap


def test_timeline_shows_itself_as_a_png():
    async def main():
        with asynckit.Timeline() as tl:
            await asynckit.sleep(0)
        return tl

    png = asyncio.run(main())._repr_png_()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000


@pytest.mark.parametrize("run", [trio.run, curio.run], ids=["trio", "curio"])
def test_trio_or_curio_run_inside_a_running_asyncio_loop_is_recognised(run):
    # What `trio.run(main)` or `curio.run(main)` in a Jupyter cell does: it runs inside
    # asyncio's running loop, where asynckit.sleep must sleep and record under that library,
    # not take its asyncio path.
    async def inner():
        with asynckit.Timeline() as tl:
            await asynckit.sleep(0.01, label="nap")
        return tl

    async def cell():
        return run(inner)

    (s,) = asyncio.run(cell()).spans
    assert s.label == "nap" and s.task == "inner" and s.duration >= 0.01


def test_whether_curio_runs_reads_as_curio_says():
    # asynckit reads Curio's thread-local flag itself (Curio's own function raises and catches
    # an AttributeError each time it is asked outside Curio): it must answer as Curio does.
    import curio.meta

    from asynckit._library import curio_running

    answers = []

    def ask():
        answers.append((curio_running(), curio.meta.curio_running()))

    async def main():
        ask()
        await curio.run_in_thread(ask)  # a worker thread of Curio's does not run Curio

    ask()
    curio.run(main)
    ask()
    assert answers == [(False, False), (True, True), (False, False), (False, False)]


def test_whether_curio_runs_falls_back_on_curio_s_function(monkeypatch):
    # A Curio whose flag lives elsewhere: its own function answers.
    from asynckit._library import curio_running

    running = [False]
    meta = types.SimpleNamespace(curio_running=lambda: running[0])
    monkeypatch.setitem(sys.modules, "curio.meta", meta)
    assert curio_running() is False
    running[0] = True
    assert curio_running() is True


def test_trio_rows_are_named_after_the_function_without_its_module_path():
    async def main():
        with asynckit.Timeline() as tl:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(asynckit.sleep, 0)
                nursery.start_soon(asynckit.sleep, 0)
        return tl

    assert sorted(s.task for s in trio.run(main).spans) == ["sleep", "sleep #2"]


# -- task identity: one row per distinct task, even when ids are reused ----------------------

BATCHES, PER_BATCH = 100, 20  # 2,000 short-lived tasks, one batch after another


def rows_of(tl):
    """How many rows a plot of the timeline has when each task is a row."""
    import matplotlib

    matplotlib.use("Agg")
    ax = asynckit.plot_timeline(tl, rows="task")
    return int(ax.get_ylabel().split(" in ")[1].split()[0])


def check_one_row_per_task(tl, ids, names_expected):
    spans = tl.spans
    assert len(spans) == BATCHES * PER_BATCH
    # The point of the test: the library did hand later tasks the ids of collected ones.
    assert len(set(ids)) < len(ids)
    assert len({s.task for s in spans}) == len(spans)
    assert rows_of(tl) == len(spans)
    assert sorted(s.task for s in spans) == sorted(names_expected)


def sleep_names(n):
    return ["sleep"] + [f"sleep #{i}" for i in range(2, n + 1)]


async def nap_noting_id(ids, current):
    ids.append(id(await current()))
    await asynckit.sleep(0)


def test_trio_tasks_in_sequential_nurseries_keep_rows_of_their_own():
    # Thirty nurseries of ten sleeps once gave 300 spans but a dozen rows.
    ids = []

    async def current():
        return trio.lowlevel.current_task()

    async def main():
        with asynckit.Timeline() as tl:
            for _ in range(BATCHES):
                async with trio.open_nursery() as nursery:
                    for _ in range(PER_BATCH):
                        nursery.start_soon(nap_noting_id, ids, current, name="sleep")
        return tl

    check_one_row_per_task(trio.run(main), ids, sleep_names(BATCHES * PER_BATCH))


def test_curio_tasks_in_sequential_groups_keep_rows_of_their_own():
    ids = []

    async def main():
        with asynckit.Timeline() as tl:
            for _ in range(BATCHES):
                async with curio.TaskGroup() as group:
                    for _ in range(PER_BATCH):
                        await group.spawn(nap_noting_id, ids, curio.current_task)
        return tl

    tl = curio.run(main)
    check_one_row_per_task(
        tl,
        ids,
        ["nap_noting_id"] + [f"nap_noting_id #{i}" for i in range(2, BATCHES * PER_BATCH + 1)],
    )


def test_asyncio_tasks_sharing_a_name_keep_rows_of_their_own():
    ids = []

    async def current():
        return asyncio.current_task()

    async def main():
        with asynckit.Timeline() as tl:
            for _ in range(BATCHES):
                async with asyncio.TaskGroup() as group:
                    for _ in range(PER_BATCH):
                        group.create_task(nap_noting_id(ids, current), name="sleep")
        return tl

    check_one_row_per_task(asyncio.run(main()), ids, sleep_names(BATCHES * PER_BATCH))


def test_recorded_spans_hold_nothing_the_garbage_collector_goes_through():
    # A span kept as a tuple would be tracked until the collector's next pass went through it,
    # and one holding a weak reference to its task would stay tracked for good.
    async def nap():
        await asynckit.sleep(0)

    async def main():
        with asynckit.Timeline(tasks=True) as tl:
            await asyncio.gather(*(nap() for _ in range(50)))
            await asynckit.sleep(0)
            asynckit.work(0)
        return tl

    tl = asyncio.run(main())
    recorder = tl._recorder
    assert recorder.count() == 50 + 50 + 1 + 1  # 50 tasks, their sleeps, a sleep, the work
    assert [item for item in recorder.spans if gc.is_tracked(item)] == []
    assert len({s.task for s in tl.spans if s.kind == "sleep"}) == 51


def test_a_sleep_awaited_outside_any_task_goes_in_its_thread_row():
    # A loop callback that drives the coroutine itself: asyncio has no current task there.
    async def main():
        loop = asyncio.get_running_loop()
        stepped = loop.create_future()

        def drive(coro):
            try:
                coro.send(None)
                coro.send(None)
            except StopIteration:
                stepped.set_result(None)

        with asynckit.Timeline() as tl:
            loop.call_soon(drive, asynckit.sleep(0, label="outside"))
            await stepped
        return tl

    (span,) = asyncio.run(main()).spans
    assert (span.label, span.task, span.thread) == ("outside", None, "MainThread")


def test_row_names_read_the_same_from_run_to_run():
    async def main():
        with asynckit.Timeline() as tl:
            for _ in range(3):
                async with trio.open_nursery() as nursery:
                    for i in range(3):
                        nursery.start_soon(asynckit.sleep, 0.001 * i)
        return tl

    first, second = trio.run(main), trio.run(main)
    assert [s.task for s in first.spans] == [s.task for s in second.spans]
    assert first.main_task == "main" and {s.task for s in first.spans} == set(sleep_names(9))


def test_recording_keeps_no_task_alive():
    import gc
    import weakref

    refs = []

    async def nap():
        refs.append(weakref.ref(trio.lowlevel.current_task()))
        await asynckit.sleep(0)

    async def main():
        with asynckit.Timeline() as tl:
            async with trio.open_nursery() as nursery:
                for _ in range(5):
                    nursery.start_soon(nap)
            gc.collect()
            alive = [r for r in refs if r() is not None]
        return tl, alive

    tl, alive = trio.run(main)
    assert len(tl.spans) == 5 and alive == []


def test_peak_overlap_counts_spans_under_way_at_once() -> None:
    from asynckit import Span
    from asynckit._timeline import peak_overlap

    def spans(*pairs: tuple[float, float]) -> list[Span]:
        return [Span("s", "sleep", a, b, "t", "main") for a, b in pairs]

    assert peak_overlap([]) == 0
    assert peak_overlap(spans((0, 1), (1, 2), (2, 3))) == 1  # touching is not overlapping
    assert peak_overlap(spans((0, 2), (1, 3), (1.5, 1.6))) == 3
    assert peak_overlap(iter(spans((0, 2), (1, 3)))) == 2  # any iterable, read once


@given(
    st.lists(
        st.tuples(st.integers(0, 20), st.integers(0, 20)).map(sorted),  # (start, end), ordered
        max_size=30,
    )
)
def test_peak_overlap_is_the_most_spans_covering_one_moment(pairs: list[list[int]]) -> None:
    from asynckit import Span
    from asynckit._timeline import peak_overlap

    spans = [Span("s", "sleep", a, b, "t", "main") for a, b in pairs]
    # A span covers the moments from its start up to, not including, its end.
    moments = [a for a, b in pairs if a < b]
    expected = max((sum(1 for a, b in pairs if a <= t < b) for t in moments), default=0)
    assert peak_overlap(spans) == expected


def test_a_finished_task_keeps_its_row_and_the_recorder_forgets_it():
    from asynckit._timeline import Recorder

    async def main():
        recorder = Recorder()
        task = asyncio.current_task()
        recorder.add("a", "sleep", 1.0, 2.0, recorder.row(task))
        recorder.record_finished("main", "task", 0.0, 3.0, task, "cancelled")
        other = asyncio.create_task(asyncio.sleep(0))  # first seen once it is done
        await other
        recorder.record_finished("other", "task", 1.0, 2.0, other)
        return recorder, task.get_name(), other.get_name()

    recorder, name, other = asyncio.run(main())
    names = recorder.row_names()
    raw = recorder.raw()
    assert [names[r[4]] for r in raw] == [name, name, other]
    assert [r[6] for r in raw] == [None, "cancelled", None]
    assert recorder.raw(since=2) == raw[2:]
    assert recorder.libraries == {"asyncio"}
    assert not recorder.rows  # no weak reference kept to either task


def test_a_timeline_of_many_tasks_keeps_no_weak_reference_to_those_that_finished():
    async def job():
        await asynckit.sleep(0)  # a span of its own: the task gets its row while it runs
        await asyncio.sleep(0)

    async def main():
        with asynckit.Timeline(tasks=True) as tl:
            await asyncio.gather(*(job() for _ in range(1_000)))
            still = len(tl._recorder.rows)
        return tl, still

    tl, still = asyncio.run(main())
    # The cell's own task is the one left: 1,000 tasks finished and recorded no more.
    assert still == 1
    rows = {s.task for s in tl.spans}
    assert len(rows) == 1_000
    for task in rows:  # each task's sleep and lifetime share its row
        kinds = sorted(s.kind for s in tl.spans if s.task == task)
        assert kinds == ["sleep", "task"]


def test_summary_says_what_ran_in_one_line_without_making_span_objects():
    async def main():
        with asynckit.Timeline(tasks=True) as tl:
            await asyncio.gather(*(asynckit.sleep(0.05) for _ in range(3)))
            with pytest.raises(ValueError), asynckit.span("parse"):
                raise ValueError
        return tl

    tl = asyncio.run(main())
    wall, tasks, failed = tl.summary().split(" · ")
    assert wall.endswith(" ms wall")
    assert tasks == "3 tasks (at most 3 alive at once)"
    assert failed == "1 failed span"
    assert 0.05 <= tl.duration < tl.elapsed + 1e-9
    assert tl._cache is None  # neither summary() nor duration built the Span objects


def test_summary_duration_and_threads_follow_the_spans_recorded_after_a_first_read():
    async def main():
        with asynckit.Timeline(tasks=True) as tl:
            await asynckit.sleep(0.01)
            read_early = (tl.summary(), tl.duration, tl.threads)
            await asyncio.gather(asynckit.sleep(0.02), asynckit.sleep(0.02))
            await asyncio.to_thread(asynckit.work, 0.01, "in a thread")
        return tl, read_early

    tl, (early_summary, early_duration, early_threads) = asyncio.run(main())
    assert "0 tasks" in early_summary and "call" not in early_summary
    assert len(early_threads) == 1 and early_duration >= 0.009
    assert "2 tasks (at most 2 alive at once)" in tl.summary()
    assert "1 call in 1 thread" in tl.summary()
    assert tl.duration >= early_duration + 0.025  # the later sleeps and work, 0.03 s
    assert len(tl.threads) == 2 and early_threads < tl.threads
