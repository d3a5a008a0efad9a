"""Wrong answers to 09's exercises, as a learner would write them, and what each check says."""

from __future__ import annotations

import pytest
from exercise_harness import assert_fails_saying

from asynckit.exercises import ex09

WRONG = {
    "session without the trace config": (
        "q1",
        "titles",
        """
async def titles(url, ids):
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=4)) as session:
        async def title(i):
            async with session.get(f"{url}/posts/{i}") as response:
                return (await response.json())["title"]
        return await asyncio.gather(*(title(i) for i in ids))
""",
        "recorded no request",
    ),
    "one after another": (
        "q1",
        "titles",
        """
async def titles(url, ids):
    traced = [asynckit.trace_config()]
    async with aiohttp.ClientSession(trace_configs=traced) as session:
        found = []
        for i in ids:
            async with session.get(f"{url}/posts/{i}") as response:
                found.append((await response.json())["title"])
        return found
""",
        "one after another",
    ),
    "no pool limit": (
        "q1",
        "titles",
        """
async def titles(url, ids):
    traced = [asynckit.trace_config()]
    async with aiohttp.ClientSession(trace_configs=traced) as session:
        async def title(i):
            async with session.get(f"{url}/posts/{i}") as response:
                return (await response.json())["title"]
        return await asyncio.gather(*(title(i) for i in ids))
""",
        "limit=4",
    ),
    "the longest span": (
        "q2",
        "blocked_by",
        """
def blocked_by(tl):
    return max((s for s in tl.spans if s.kind != "task"), key=lambda s: s.duration).label
""",
        "the longest span",
    ),
    "every kind counted": (
        "q3",
        "peak_in_flight",
        """
def peak_in_flight(tl):
    edges = sorted([(s.start, 1) for s in tl.spans] + [(s.end, -1) for s in tl.spans])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak
""",
        "not requests",
    ),
    "touching counted as overlapping": (
        "q3",
        "peak_in_flight",
        """
def peak_in_flight(tl):
    requests = [s for s in tl.spans if s.kind == "request"]
    edges = sorted([(s.start, -1) for s in requests] + [(s.end, 1) for s in requests])
    running = peak = 0
    for _, step in edges:
        running -= step
        peak = max(peak, running)
    return peak
""",
        "exactly when the other starts",
    ),
}


@pytest.mark.parametrize(("exercise", "entry", "answer", "says"), WRONG.values(), ids=WRONG.keys())
def test_a_wrong_answer_fails_and_says_why(exercise: str, entry: str, answer: str, says: str):
    assert_fails_saying(ex09, answer, f"await ex.{exercise}.check({entry})", says)
