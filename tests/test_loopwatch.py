"""Timeline(tasks=True) and Timeline(lag=True): watching the asyncio loop itself."""

import asyncio
import functools
import gc
import itertools
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import asynckit


def test_tasks_are_recorded_with_their_lifetimes_and_outcomes():
    async def fails():
        await asyncio.sleep(0.01)
        raise ValueError("boom")

    async def main():
        with asynckit.Timeline(tasks=True) as tl:
            ok = asyncio.create_task(asyncio.sleep(0.02), name="sleeper")
            bad = asyncio.create_task(fails(), name="failer")
            slow = asyncio.create_task(asyncio.sleep(5), name="slow")
            await ok
            with pytest.raises(ValueError):
                await bad
            slow.cancel()
            await asyncio.gather(slow, return_exceptions=True)
        return tl

    tl = asyncio.run(main())
    tasks = {s.task: s for s in tl.spans if s.kind == "task"}
    assert set(tasks) == {"sleeper", "failer", "slow"}
    assert tasks["sleeper"].error is None and tasks["sleeper"].duration >= 0.015
    assert tasks["failer"].error == "ValueError"
    assert tasks["slow"].error == "cancelled"
    assert tasks["failer"].label.endswith("fails")


def test_a_task_still_running_when_the_block_ends_is_recorded_up_to_its_end():
    async def main():
        with asynckit.Timeline(tasks=True) as tl:
            done = asyncio.create_task(asyncio.sleep(0.01), name="quick")
            background = asyncio.create_task(asyncio.sleep(0.5), name="background")
            await asyncio.sleep(0.05)
        recorded = len(tl)
        background.cancel()  # after the block: nothing more is recorded
        await asyncio.gather(background, return_exceptions=True)
        assert done.done() and len(tl) == recorded
        return tl

    tl = asyncio.run(main())
    tasks = {s.task: s for s in tl.spans if s.kind == "task"}
    assert set(tasks) == {"quick", "background"}
    assert tasks["quick"].detail is None
    running = tasks["background"]
    assert running.detail == "still running" and running.error is None
    assert running.label.endswith("sleep") and running.duration >= 0.04
    assert tl.elapsed - 0.05 <= running.end <= tl.elapsed  # it ends as the block does
    assert "2 tasks (at most 2 alive at once)" in tl.summary()


def test_tasks_created_inside_libraries_are_seen_too():
    async def main():
        with asynckit.Timeline(tasks=True) as tl:
            await asyncio.gather(asyncio.sleep(0), asyncio.sleep(0))  # gather makes the tasks
            await asyncio.wait_for(asyncio.sleep(0), 1)
        return tl

    assert len([s for s in asyncio.run(main()).spans if s.kind == "task"]) >= 2


def test_the_previous_task_factory_is_restored_and_composed_with():
    made = []

    def factory(loop, coro, **kwargs):
        made.append(coro)
        return asyncio.Task(coro, loop=loop, **kwargs)

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_task_factory(factory)
        with asynckit.Timeline(tasks=True) as tl:
            assert loop.get_task_factory() is not factory
            before = len(made)
            result = await asyncio.create_task(asyncio.sleep(0, result="same result"))
            assert len(made) == before + 1  # the existing factory still made the task
        assert loop.get_task_factory() is factory
        return tl, result

    tl, result = asyncio.run(main())
    assert result == "same result"
    assert [s.kind for s in tl.spans] == ["task"]


def test_no_factory_stays_installed_after_the_block():
    async def main():
        with asynckit.Timeline(tasks=True):
            pass
        return asyncio.get_running_loop().get_task_factory()

    assert asyncio.run(main()) is None


def test_an_unretrieved_exception_is_still_reported():
    async def fails():
        raise KeyError("lost")

    messages = []

    async def main():
        asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: messages.append(ctx))
        with asynckit.Timeline(tasks=True) as tl:
            task = asyncio.create_task(fails())
            await asyncio.sleep(0.01)
        del task
        gc.collect()
        return tl

    tl = asyncio.run(main())
    assert [s.error for s in tl.spans] == ["KeyError"]
    assert any("never retrieved" in m["message"] for m in messages)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="eager tasks need Python 3.12+")
def test_eager_task_factory_keeps_working():
    async def main():
        loop = asyncio.get_running_loop()
        loop.set_task_factory(asyncio.eager_task_factory)
        with asynckit.Timeline(tasks=True) as tl:
            await asyncio.create_task(asyncio.sleep(0))
        assert loop.get_task_factory() is asyncio.eager_task_factory
        return tl

    assert [s.kind for s in asyncio.run(main()).spans] == ["task"]


def test_lag_catches_a_200_ms_blocking_call():
    async def main():
        with asynckit.Timeline(lag=True) as tl:
            await asyncio.sleep(0.05)
            asynckit.work(0.2, label="blocking")
            await asyncio.sleep(0.05)
        return tl

    tl = asyncio.run(main())
    # The worst lag is about the length of the block: generous margins on a busy machine.
    assert 0.15 <= tl.max_lag <= 0.5
    (work,) = [s for s in tl.spans if s.kind == "work"]
    (at, _worst) = max(tl.lag_samples, key=lambda sample: sample[1])
    assert work.end - 0.02 <= at <= work.end + 0.1  # the late wake comes just after the block
    assert len(tl.lag_samples) >= 5


def test_a_blocking_call_that_ends_the_block_still_shows_as_lag():
    async def blocks_last():
        with asynckit.Timeline(lag=True) as tl:
            await asyncio.sleep(0.02)
            time.sleep(0.2)  # the loop is still frozen when the block ends
        return tl

    async def never_awaits():
        with asynckit.Timeline(lag=True) as tl:
            time.sleep(0.2)  # a cell with no await at all
        return tl

    for main in (blocks_last, never_awaits):
        tl = asyncio.run(main())
        assert 0.15 <= tl.max_lag <= 0.5, main.__name__
        (at, _worst) = max(tl.lag_samples, key=lambda sample: sample[1])
        assert at <= tl.elapsed  # the last sample is taken as the block ends, not after


def test_a_free_loop_has_little_lag():
    async def main():
        with asynckit.Timeline(lag=True) as tl:
            await asyncio.sleep(0.1)
        return tl

    tl = asyncio.run(main())
    assert tl.max_lag < 0.1  # nothing blocked; only the machine's own noise


def test_lag_and_tasks_need_a_running_loop():
    for option in ("tasks", "lag"):
        with pytest.raises(asynckit.AsynckitError, match="running asyncio event loop"):
            with asynckit.Timeline(**{option: True}):
                pass


def test_the_lag_trace_and_task_spans_are_drawn():
    async def main():
        with asynckit.Timeline(tasks=True, lag=True) as tl:
            await asyncio.create_task(asyncio.sleep(0.02))
            asynckit.work(0.05)
        return tl

    tl = asyncio.run(main())
    ax = tl.plot()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert any(label.startswith("loop lag\n(max ") for label in labels)
    assert {t.get_text() for t in ax.get_legend().get_texts()} >= {"task", "work", "loop lag"}
    assert len(ax.lines) == 1  # the lag trace


def test_elapsed_covers_the_whole_block():
    async def main():
        with asynckit.Timeline() as tl:
            await asyncio.sleep(0.05)  # no instrumented span at all
        return tl

    tl = asyncio.run(main())
    assert tl.duration == 0.0 and tl.elapsed >= 0.045


def test_tracking_keeps_no_task_alive():
    # A fire-and-forget task that nobody holds is collected as it would be without tracking.
    import weakref

    async def forever():
        await asyncio.Event().wait()

    async def main():
        with asynckit.Timeline(tasks=True):
            task = asyncio.create_task(forever())
            await asyncio.sleep(0)
            ref = weakref.ref(task)
            del task
            gc.collect()
            return ref()

    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda loop, context: None)  # "destroyed but pending" is the point
    try:
        assert loop.run_until_complete(main()) is None
    finally:
        loop.close()


def test_watching_many_tasks_adds_no_work_to_each_pass_of_the_garbage_collector():
    # What a tracker keeps about the tasks under way must not be handed back to the collector
    # as each new task starts: its passes would each go through all of them.
    async def main():
        with asynckit.Timeline(tasks=True):
            tasks = [asyncio.create_task(asyncio.sleep(0.05)) for _ in range(1_000)]
            gc.collect()  # what the tracker holds is now old, or out of the collector's sight
            tasks.append(asyncio.create_task(asyncio.sleep(0.05)))
            young = [o for o in gc.get_objects(generation=0) if isinstance(o, dict | list)]
            largest = max(map(len, young), default=0)
            await asyncio.gather(*tasks)
        return largest

    assert asyncio.run(main()) < 1_000


# -- several tracking timelines on one loop -----------------------------------------------


def task_spans(tl):
    return sorted(s.task for s in tl.spans if s.kind == "task")


def test_overlapping_blocks_in_two_tasks_restore_the_original_factory():
    # A enters, B enters, A leaves, B leaves: B once put A's factory back, for good.
    async def main():
        loop = asyncio.get_running_loop()
        a_in, b_in, a_out = asyncio.Event(), asyncio.Event(), asyncio.Event()

        async def a():
            with asynckit.Timeline(tasks=True) as tl:
                a_in.set()
                await b_in.wait()
                await asyncio.create_task(asyncio.sleep(0), name="made by a")
            a_out.set()
            return tl

        async def b():
            await a_in.wait()
            with asynckit.Timeline(tasks=True) as tl:
                b_in.set()
                await a_out.wait()
                await asyncio.create_task(asyncio.sleep(0), name="made by b")
            return tl

        both = await asyncio.gather(a(), b())
        return both, loop.get_task_factory()

    (tl_a, tl_b), factory = asyncio.run(main())
    assert factory is None
    assert task_spans(tl_a) == ["made by a"] and task_spans(tl_b) == ["made by b"]


def test_nested_tracking_records_each_task_once_in_the_innermost():
    async def main():
        with asynckit.Timeline(tasks=True) as outer:
            await asyncio.create_task(asyncio.sleep(0), name="outside")
            with asynckit.Timeline(tasks=True) as inner:
                await asyncio.create_task(asyncio.sleep(0), name="inside")
                with asynckit.Timeline():  # records spans, not tasks: the one above does
                    await asyncio.create_task(asyncio.sleep(0), name="deeper")
        return outer, inner, asyncio.get_running_loop().get_task_factory()

    outer, inner, factory = asyncio.run(main())
    assert task_spans(outer) == ["outside"]
    assert task_spans(inner) == ["deeper", "inside"]
    assert factory is None


def test_task_spans_share_the_row_of_the_spans_the_task_ran():
    async def main():
        with asynckit.Timeline(tasks=True) as tl:
            async with asyncio.TaskGroup() as group:
                for _ in range(3):
                    group.create_task(asynckit.sleep(0.01), name="napper")
        return tl

    tl = asyncio.run(main())
    by_kind = {
        kind: sorted(s.task for s in tl.spans if s.kind == kind) for kind in ("task", "sleep")
    }
    assert by_kind["task"] == by_kind["sleep"] == ["napper", "napper #2", "napper #3"]


@pytest.mark.skipif(sys.version_info < (3, 12), reason="eager tasks need Python 3.12+")
def test_an_eager_task_starts_before_its_first_step():
    async def blocks_first():
        asynckit.work(0.05, label="first step")  # runs inside create_task, eagerly
        await asyncio.sleep(0)

    async def main():
        asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
        with asynckit.Timeline(tasks=True) as tl:
            await asyncio.create_task(blocks_first())
        return tl

    tl = asyncio.run(main())
    (task,) = [s for s in tl.spans if s.kind == "task"]
    (step,) = [s for s in tl.spans if s.kind == "work"]
    assert task.start <= step.start and task.end >= step.end
    assert task.task == step.task  # one row: the task's lifetime behind what it ran


@pytest.mark.skipif(sys.version_info < (3, 12), reason="eager tasks need Python 3.12+")
def test_an_eager_task_that_ends_inside_create_task_ends_there():
    async def quick():
        asynckit.work(0.01, label="all of it")  # no await: over before create_task returns

    async def main():
        asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
        with asynckit.Timeline(tasks=True) as tl:
            for _ in range(3):
                await asyncio.create_task(quick())  # one after the other
            await asyncio.sleep(0.01)
        return tl

    tl = asyncio.run(main())
    tasks = [s for s in tl.spans if s.kind == "task"]
    assert len(tasks) == 3 and "at most 1 alive at once" in tl.summary()
    for task, work in zip(tasks, [s for s in tl.spans if s.kind == "work"], strict=True):
        assert task.start <= work.start and work.end <= task.end
    for earlier, later in itertools.pairwise(tasks):
        assert earlier.end <= later.start  # not drawn overlapping: they never did


# Every interleaving of entering and leaving tracking timelines, across tasks and nested.
# A step is (worker, action): "enter" a Timeline(tasks=True), "plain" (enter a Timeline()),
# "leave" the worker's innermost open one, or "spawn" a task and await it.
steps_strategy = st.lists(
    st.tuples(st.integers(0, 2), st.sampled_from(["enter", "plain", "leave", "spawn"])),
    max_size=30,
)


@given(steps=steps_strategy, custom_factory=st.booleans(), custom_executor=st.booleans())
@settings(max_examples=150, deadline=None)
def test_any_interleaving_restores_the_loop_and_records_each_task_once(
    steps, custom_factory, custom_executor
):
    from asynckit._loopwatch import LoopFactory

    def factory(loop, coro, **kwargs):
        return asyncio.Task(coro, loop=loop, **kwargs)

    threads_before = threading.active_count()

    async def main():
        loop = asyncio.get_running_loop()
        original = factory if custom_factory else None
        loop.set_task_factory(original)
        original_executor = (
            ThreadPoolExecutor(thread_name_prefix="own") if custom_executor else None
        )
        if original_executor is not None:
            loop.set_default_executor(original_executor)
        inboxes = [asyncio.Queue() for _ in range(3)]
        opened = []  # (worker, timeline), in the order entered, while open
        created = []  # every timeline, open or not
        expected = {}  # task name -> the timeline that must record it (or None)

        async def worker(index):
            stack = []
            while True:
                action, ack = await inboxes[index].get()
                if action == "stop":
                    while stack:
                        leave(stack)
                    ack.set()
                    return
                if action in ("enter", "plain"):
                    tl = asynckit.Timeline(tasks=action == "enter")
                    tl.__enter__()
                    stack.append(tl)
                    opened.append(tl)
                    created.append(tl)
                elif action == "leave" and stack:
                    leave(stack)
                elif action == "spawn":
                    name = f"spawned {len(expected)}"
                    mine = [tl for tl in stack if tl.tasks]
                    anyone = [tl for tl in opened if tl.tasks]
                    expected[name] = mine[-1] if mine else anyone[-1] if anyone else None
                    await asyncio.create_task(asyncio.to_thread(int), name=name)
                ack.set()

        def leave(stack):
            tl = stack.pop()
            tl.__exit__(None, None, None)
            opened.remove(tl)

        workers = [asyncio.create_task(worker(i)) for i in range(3)]
        for index, action in [*steps, *((i, "stop") for i in range(3))]:
            ack = asyncio.Event()
            await inboxes[index].put((action, ack))
            await ack.wait()
        await asyncio.gather(*workers)
        leftover = LoopFactory._by_loop.get(loop)
        executor = loop._default_executor
        if original_executor is None and None in expected.values():
            # A thread call while no tracking timeline was open: asyncio made its executor.
            restored_executor = type(executor) is ThreadPoolExecutor
        else:
            restored_executor = executor is original_executor
        restored = loop.get_task_factory() is original and restored_executor
        return restored, leftover, created, expected

    restored, leftover, created, expected = asyncio.run(main())
    assert restored and leftover is None
    assert threading.active_count() == threads_before  # every worker thread is shut down
    # Each spawned task, and the call it ran in a thread, is recorded exactly once, by the
    # timeline the rule names.
    recorded = {"task": {}, "thread": {}}
    for tl in created:
        for s in tl.spans:
            if s.kind in recorded:
                name = s.task if s.kind == "task" else s.parent
                assert name not in recorded[s.kind], f"{name}'s {s.kind} recorded twice"
                recorded[s.kind][name] = tl
    wanted = {name: tl for name, tl in expected.items() if tl is not None}
    assert recorded == {"task": wanted, "thread": wanted}


# -- work handed to threads -----------------------------------------------------------------


def add(a, b):
    time.sleep(0.02)
    return a + b


def fails():
    raise ValueError("no")


def thread_spans(tl):
    return [s for s in tl.spans if s.kind == "thread"]


def test_thread_work_is_recorded_in_its_threads_row_naming_the_task_that_handed_it_over():
    async def worker():
        return await asyncio.to_thread(functools.partial(add, 1), 2)

    async def main():
        loop = asyncio.get_running_loop()
        with asynckit.Timeline(tasks=True) as tl:
            workers = [asyncio.create_task(worker(), name=f"w{i}") for i in range(3)]
            sums = await asyncio.gather(*workers)
            direct = await loop.run_in_executor(None, add, 3, 4)
            await asyncio.to_thread(asynckit.work, 0.01, "inside")
            with pytest.raises(ValueError):
                await asyncio.to_thread(fails)
        return tl, sums, direct

    tl, sums, direct = asyncio.run(main())
    assert sums == [3, 3, 3] and direct == 7  # the work ran, and its results came back
    handed = thread_spans(tl)
    assert [s.label for s in handed] == ["add"] * 4 + ["work", "fails"]
    assert sorted(s.parent for s in handed[:3]) == ["w0", "w1", "w2"]
    assert {s.parent for s in handed[3:]} == {tl.main_task}
    assert all(s.task is None and s.lane == f"thread {s.thread}" for s in handed)
    assert all(s.thread.startswith("asyncio_") for s in handed)
    assert len({s.thread for s in handed[:3]}) == 3  # three at once: three threads, three rows
    assert [s.error for s in handed] == [None] * 5 + ["ValueError"]
    assert all(s.duration >= 0.015 for s in handed[:4])
    # What the work recorded itself sits inside its call, in the same thread's row.
    (inside,) = [s for s in tl.spans if s.label == "inside"]
    (call,) = [s for s in handed if s.label == "work"]
    assert inside.lane == call.lane and call.start <= inside.start <= inside.end <= call.end


def test_thread_work_is_recorded_only_under_tasks_true_and_only_on_the_default_executor():
    async def main():
        loop = asyncio.get_running_loop()
        with asynckit.Timeline() as plain:
            await asyncio.to_thread(add, 1, 2)
        with ThreadPoolExecutor(max_workers=1) as pool, asynckit.Timeline(tasks=True) as tl:
            assert await loop.run_in_executor(pool, add, 1, 2) == 3
            await asyncio.to_thread(add, 1, 2)
        await asyncio.to_thread(add, 1, 2)  # after the block
        return plain, tl

    plain, tl = asyncio.run(main())
    assert thread_spans(plain) == []
    assert [s.label for s in thread_spans(tl)] == ["add"]  # the default executor's, only


def test_the_default_executor_is_put_back_and_a_loop_without_one_gets_none():
    async def main():
        loop = asyncio.get_running_loop()
        seen = [loop._default_executor]
        with asynckit.Timeline(tasks=True) as first:
            assert await asyncio.to_thread(add, 1, 2) == 3  # runs, though the loop had none
            made = loop._default_executor._own  # the executor made for the block
        seen.append(loop._default_executor)
        await asyncio.to_thread(int)  # asyncio makes its default executor now
        theirs = loop._default_executor
        with asynckit.Timeline(tasks=True) as second:
            await asyncio.to_thread(add, 1, 2)
        seen.append(loop._default_executor)
        return seen, theirs, made, first, second

    threads_before = threading.active_count()
    (none, after_first, after_second), theirs, made, first, second = asyncio.run(main())
    assert none is None and after_first is None and after_second is theirs
    assert made._shutdown and not any(t.is_alive() for t in made._threads)
    assert threading.active_count() == threads_before
    # The first block's work ran in the threads made for it, the second's in asyncio's own.
    assert [s.thread for s in thread_spans(first)] == ["asyncio_0"]
    assert [s.thread for s in thread_spans(second)] == ["asyncio_0"]


def test_work_still_running_when_the_block_ends_finishes_and_its_thread_then_exits():
    started = threading.Event()

    def slow():
        started.set()
        time.sleep(0.2)
        return "done"

    async def main():
        loop = asyncio.get_running_loop()
        with asynckit.Timeline(tasks=True) as tl:
            pending = asyncio.ensure_future(asyncio.to_thread(slow))
            await loop.run_in_executor(None, started.wait)
            made = loop._default_executor._own
        left = loop.time()
        result = await pending
        return tl, loop.time() - left, result, made, loop._default_executor

    tl, waited, result, made, executor = asyncio.run(main())
    assert result == "done" and waited > 0.1  # leaving the block did not wait for the work
    assert executor is None
    for thread in made._threads:
        thread.join(timeout=5)
    assert not any(t.is_alive() for t in made._threads)
    spans = {s.label.rsplit(".", 1)[-1]: s for s in thread_spans(tl)}
    assert sorted(spans) == ["slow", "wait"]
    assert spans["wait"].detail is None
    # slow() ended after the block: recorded up to the block's end, in its own thread's row,
    # linked to the task that handed it over.
    running = spans["slow"]
    assert running.detail == "still running" and running.error is None
    assert running.thread.startswith("asyncio") and running.thread != spans["wait"].thread
    assert running.parent is not None and running.end <= tl.elapsed
    assert "2 calls in 2 threads" in tl.summary()


def test_nested_and_overlapping_blocks_put_the_default_executor_back():
    async def a(a_in, b_in, a_out):
        with asynckit.Timeline(tasks=True) as tl:
            a_in.set()
            await b_in.wait()
            await asyncio.to_thread(add, 0, 1)
        a_out.set()
        return tl

    async def b(a_in, b_in, a_out):
        await a_in.wait()
        with asynckit.Timeline(tasks=True) as tl:
            b_in.set()
            await a_out.wait()
            with asynckit.Timeline(tasks=True) as inner:
                await asyncio.to_thread(add, 0, 2)
        return tl, inner

    async def main():
        loop = asyncio.get_running_loop()
        mine = ThreadPoolExecutor(thread_name_prefix="mine")
        loop.set_default_executor(mine)
        events = [asyncio.Event() for _ in range(3)]
        tl_a, (tl_b, inner) = await asyncio.gather(a(*events), b(*events))
        return tl_a, tl_b, inner, loop._default_executor is mine

    tl_a, tl_b, inner, restored = asyncio.run(main())
    assert restored
    assert [(s.label, s.thread) for s in thread_spans(tl_a)] == [("add", "mine_0")]
    assert thread_spans(tl_b) == [] and [s.label for s in thread_spans(inner)] == ["add"]


def test_the_label_sees_through_partials_and_callable_objects():
    from asynckit._loopwatch import work_label

    class Job:
        def __call__(self):
            return None

        def run(self):
            return None

    assert work_label(functools.partial(add, 1)) == "add"
    assert work_label(functools.partial(functools.partial(add, 1), 2)) == "add"
    assert work_label(Job()) == "Job"
    assert work_label(Job().run).endswith("Job.run")
    assert work_label(len) == "len"
