"""sleep, work, span and traced: what they record, and how they fail."""

import asyncio
import contextlib
import itertools
import math
import time
from decimal import Decimal
from fractions import Fraction

import curio
import numpy as np
import pytest
import trio

import asynckit


def record(coro_fn):
    async def main():
        with asynckit.Timeline() as tl:
            try:
                await coro_fn()
            except BaseException as exc:
                return tl, exc
        return tl, None

    return asyncio.run(main())


@pytest.mark.parametrize(
    "seconds",
    [np.int64(0), np.float32(0.01), np.float64(0.01), Fraction(1, 100), Decimal("0.01")],
    ids=repr,
)
def test_sleep_and_work_take_any_real_number_as_asyncio_sleep_does(seconds):
    async def main():
        await asynckit.sleep(seconds)
        asynckit.work(seconds)

    tl, error = record(main)
    assert error is None
    as_float = float(seconds)
    assert [s.label for s in tl.spans] == [f"sleep({as_float:g})", f"work({as_float:g})"]


@pytest.mark.parametrize(
    "bad",
    [
        -1,
        -0.001,
        math.nan,
        float("-inf"),
        np.float32("nan"),
        Fraction(-1, 10),
        Decimal("-1"),
        Decimal("NaN"),
        Decimal("sNaN"),
    ],
    ids=repr,
)
def test_sleep_rejects_bad_seconds_with_a_value_error(bad):
    with pytest.raises(ValueError, match="seconds must be zero or more seconds"):
        asyncio.run(asynckit.sleep(bad))


@pytest.mark.parametrize("bad", ["1", None, True, [1], 1j, np.True_, np.complex64(1)], ids=repr)
def test_sleep_rejects_non_numbers_with_a_type_error(bad):
    with pytest.raises(TypeError, match="seconds must be a number"):
        asyncio.run(asynckit.sleep(bad))


@pytest.mark.parametrize("bad", [-1, math.nan, "0.1"])
def test_work_rejects_bad_seconds(bad):
    with pytest.raises((ValueError, TypeError), match="seconds"):
        asynckit.work(bad)


def test_sleep_outside_any_async_library_says_what_it_needs():
    coro = asynckit.sleep(0)
    with pytest.raises(asynckit.AsynckitError, match="asyncio, Trio or Curio"):
        coro.send(None)
    coro.close()


def test_cancelled_sleep_records_cancelled_and_reraises():
    async def main():
        with asynckit.Timeline() as tl:
            task = asyncio.create_task(asynckit.sleep(10, label="long"))
            await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        return tl

    (s,) = asyncio.run(main()).spans
    assert s.label == "long" and s.error == "cancelled" and s.duration < 5


def test_timeout_cancels_the_span_under_trio():
    async def main():
        with asynckit.Timeline() as tl:
            with trio.move_on_after(0.01):
                await asynckit.sleep(10)
        return tl

    (s,) = trio.run(main).spans
    assert s.error == "cancelled"


def test_timeout_cancels_the_span_under_curio():
    async def main():
        with asynckit.Timeline() as tl:
            with contextlib.suppress(curio.TaskTimeout):
                await curio.timeout_after(0.01, asynckit.sleep(10))
        return tl

    (s,) = curio.run(main).spans
    assert s.error == "cancelled"


def test_work_blocks_the_loop_and_records_a_work_span():
    async def ticker(ticks):
        for _ in range(5):
            ticks.append(asyncio.get_running_loop().time())
            await asyncio.sleep(0.01)

    async def main():
        ticks = []
        with asynckit.Timeline() as tl:
            task = asyncio.create_task(ticker(ticks))
            await asyncio.sleep(0)
            asynckit.work(0.1, label="blocking")
            await task
        return tl, ticks

    tl, ticks = asyncio.run(main())
    (s,) = [s for s in tl.spans if s.kind == "work"]
    assert s.label == "blocking" and s.duration >= 0.095
    # While work() held the thread, the ticker could not tick: one gap covers the block.
    assert max(b - a for a, b in itertools.pairwise(ticks)) >= 0.09


def test_cpu_work_holds_the_gil_so_threads_do_not_overlap_it():
    async def main(cpu, jobs):
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.gather(*(asyncio.to_thread(asynckit.work, 0.1, cpu=cpu) for _ in range(jobs)))
        return loop.time() - started

    def best(cpu, jobs):  # the least disturbed of three runs: the machine may be busy
        return min(asyncio.run(main(cpu, jobs)) for _ in range(3))

    # Ratios of runs measured here, not absolute times.
    asynckit.work(0, cpu=True)  # calibrate first, so that no run below includes it
    one_wait, three_waits = best(False, 1), best(False, 3)
    one_computation, three_computations = best(True, 1), best(True, 3)
    assert three_waits < 2 * one_wait  # waits overlap in threads
    assert three_computations > 2 * one_computation  # computations take turns on the GIL


def test_span_records_errors_and_reraises_them_unchanged():
    error = KeyError("missing")

    async def main():
        async with asynckit.span("lookup", kind="work") as s:
            s.detail = "user 7"
            raise error

    tl, raised = record(main)
    assert raised is error
    (s,) = tl.spans
    assert (s.label, s.kind, s.error, s.detail) == ("lookup", "work", "KeyError", "user 7")


def test_sync_span_works_in_plain_code_and_records_nothing_outside_a_timeline():
    with asynckit.span("plain") as s:
        pass
    assert s.label == "plain"

    async def main():
        with asynckit.span("sync in async"):
            await asyncio.sleep(0)

    tl, _ = record(main)
    assert [s.label for s in tl.spans] == ["sync in async"]


@pytest.mark.parametrize(
    ("args", "message"), [((1,), "label must be a str"), (("x", ""), "kind must be")]
)
def test_span_rejects_bad_arguments(args, message):
    with pytest.raises(TypeError, match=message):
        asynckit.span(*args)


def test_traced_with_and_without_label_on_coroutines_and_functions():
    @asynckit.traced
    async def download(n):
        await asynckit.sleep(0)
        return n * 2

    @asynckit.traced("parse", kind="work")
    def parse(text):
        return text.upper()

    async def main():
        return await download(21), parse("ok")

    async def run():
        return await main()

    tl, _ = record(run)
    labels = [(s.label, s.kind) for s in tl.spans]
    assert (
        "test_traced_with_and_without_label_on_coroutines_and_functions.<locals>.download",
        "span",
    ) in labels
    assert ("parse", "work") in labels
    assert asyncio.run(main()) == (42, "OK")
    assert download.__name__ == "download"


def test_traced_refuses_generators_and_bad_labels():
    with pytest.raises(TypeError, match="generator"):

        @asynckit.traced
        async def agen():
            yield 1

    with pytest.raises(TypeError, match="label"):
        asynckit.traced(3)  # type: ignore[call-overload]


def test_cpu_work_computes_for_its_seconds_of_cpu_time():
    # CPU time of the thread, not the wall clock: another process's load does not move it.
    for seconds in (0.05, 0.15):
        started = time.thread_time()
        asynckit.work(seconds, cpu=True)
        spent = time.thread_time() - started
        assert seconds <= spent < seconds + 0.05

    async def main():
        with asynckit.Timeline() as tl:
            asynckit.work(0.05, label="computed", cpu=True)
        return tl

    (s,) = asyncio.run(main()).spans
    assert s.label == "computed" and s.duration >= 0.05  # wall time is at least CPU time
