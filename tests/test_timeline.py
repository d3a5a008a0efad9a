"""Timeline and Span: what is recorded, where, and how it reads back."""

import asyncio
import dataclasses

import curio
import pytest
import trio

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


def test_curio_run_inside_a_running_asyncio_loop_is_recognised():
    # What `curio.run(main)` in a Jupyter cell does: Curio runs inside asyncio's running loop.
    async def curio_main():
        with asynckit.Timeline() as tl:
            await asynckit.sleep(0.01, label="curio nap")
        return tl

    async def cell():
        return curio.run(curio_main)

    (s,) = asyncio.run(cell()).spans
    assert s.label == "curio nap" and s.task == "curio_main"


def test_trio_rows_are_named_after_the_function_without_its_module_path():
    async def main():
        with asynckit.Timeline() as tl:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(asynckit.sleep, 0)
                nursery.start_soon(asynckit.sleep, 0)
        return tl

    assert sorted(s.task for s in trio.run(main).spans) == ["sleep", "sleep #2"]
