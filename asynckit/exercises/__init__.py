"""The course's exercises: a check of your own code under each one, and help on request.

Each notebook's module holds its exercises as ``q1``, ``q2``, ...::

    from asynckit.exercises import ex01 as ex
    await ex.q1.check(greet_all)    # "Correct: ..." or "Not yet: " and what is wrong
    ex.q1.hint()                    # a nudge
    ex.q1.solution()                # an answer, when you want it

A check runs your functions against asynckit's timelines and a local API of its own, and
judges what it sees (overlap, order, requests in flight, tasks cancelled or left running),
never how many milliseconds it took.
"""

from ._exercise import Exercise, Mistake, Verdict

__all__ = ["Exercise", "Mistake", "Verdict"]
