"""An exercise: a check of the learner's own code, a hint, and a solution shown on request."""

from __future__ import annotations

import asyncio
import html
import inspect
import linecache
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._timeline import peak_overlap

if TYPE_CHECKING:
    from .. import LocalAPI

__all__ = [
    "Exercise",
    "Mistake",
    "Verdict",
    "function",
    "left_running",
    "local_api",
    "peak_overlap",
]

#: A check that takes longer than this stops and says so: the answer probably waits forever.
CHECK_TIMEOUT = 30.0

_LIBRARY_FOLDERS = (
    str(Path(__file__).resolve().parent.parent),  # asynckit itself
    str(Path(asyncio.__file__).resolve().parent.parent),  # the standard library
)


class Mistake(Exception):
    """What a check found wrong with an answer, in words for the learner."""


@dataclass(frozen=True)
class Verdict:
    """The outcome of a check: ``passed``, and a message that says why.

    True when the answer passed. Jupyter shows it as a coloured line; ``str()`` gives the text.
    """

    exercise: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        text = f"{'Correct' if self.passed else 'Not yet'}: {self.message}"
        if not self.passed:
            text += (
                f"\n(stuck? {self.exercise}.hint() gives a hint, "
                f"{self.exercise}.solution() shows an answer)"
            )
        return text

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.passed else "#cf222e"
        mark = "✔" if self.passed else "✘"
        lines = html.escape(str(self)).split("\n", 1)
        rest = f"<br><small>{lines[1]}</small>" if len(lines) > 1 else ""
        return f'<div style="color:{colour}"><b>{mark} {lines[0]}</b>{rest}</div>'


class _Markdown:
    """Text that Jupyter renders as Markdown, and prints as itself anywhere else."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def _repr_markdown_(self) -> str:
        return self.text


Check = Callable[..., Awaitable[str]]


class Exercise:
    """One exercise of a notebook: ``await ex.q1.check(answer)``, ``ex.q1.hint()``,
    ``ex.q1.solution()``.

    The check runs the learner's functions and returns a :class:`Verdict`: "Correct" with what
    was measured, or "Not yet" with the mistake it found. It never raises for a wrong answer:
    an exception in the learner's code becomes a verdict that names it and its line. Tasks the
    answer leaves running are a mistake too; the check cancels them, so nothing is left behind.

    Example::

        from asynckit.exercises import ex01 as ex
        await ex.q1.check(greet_all)
        ex.q1.hint()
    """

    def __init__(self, name: str, title: str, *, hint: str, solution: str) -> None:
        self.name = name
        self.title = title
        self._hint = inspect.cleandoc(hint)
        self.solution_source = inspect.cleandoc(solution) + "\n"
        self._check: Check | None = None
        self._module = ""

    def checks(self, check: Check) -> Check:
        """Decorate the coroutine function that checks this exercise's answer.

        It receives what the learner passed to ``check()``, raises :class:`Mistake` for a
        wrong answer, and returns a sentence about the right one.
        """
        self._check = check
        self._module = check.__module__.rsplit(".", 1)[-1]
        return check

    @property
    def _where(self) -> str:
        return f"ex.{self.name}" if self._module else self.name

    def hint(self) -> _Markdown:
        """A hint, without the answer."""
        return _Markdown(f"**Hint ({self.title}):** {self._hint}")

    def solution(self) -> _Markdown:
        """A solution, as code to read (and paste, if you must)."""
        return _Markdown(f"**A solution ({self.title}):**\n\n```python\n{self.solution_source}```")

    async def check(self, *answer: Any) -> Verdict:
        """Run the check on ``answer`` (the functions the exercise asks for) and say whether
        it is right, and if not, what is wrong."""
        if self._check is None:
            raise RuntimeError(f"exercise {self.name} has no check")
        called = [a for a in answer if inspect.iscoroutine(a)]
        for coroutine in called:
            coroutine.close()
        if called:
            return self._fail(
                "you passed a coroutine object (a call such as f(...)): pass the function "
                "itself, without parentheses, and the check will call it"
            )
        before = asyncio.all_tasks()
        deadline = asyncio.timeout(CHECK_TIMEOUT)
        try:
            async with deadline:
                message = await self._check(*answer)
            leaked = await left_running(before)
        except Mistake as mistake:
            await left_running(before)
            return self._fail(str(mistake))
        except TimeoutError as error:
            await left_running(before)
            if not deadline.expired():  # the learner's own timeout, not the check's
                return self._fail(_describe(error))
            return self._fail(
                f"your code did not finish within {CHECK_TIMEOUT:.0f} s: something waits "
                "forever (an await on an event nobody sets, a queue nobody fills, a lock "
                "never released?)"
            )
        except Exception as error:
            await left_running(before)
            return self._fail(_describe(error))
        if leaked:
            names = ", ".join(leaked[:5])
            return self._fail(
                f"your code returned, but left {len(leaked)} task(s) running ({names}): "
                "cancel what you no longer need, or wait for it (a TaskGroup does both)"
            )
        return Verdict(self._where, True, message)

    def _fail(self, message: str) -> Verdict:
        return Verdict(self._where, False, message)

    def __repr__(self) -> str:
        return f"<exercise {self.name}: {self.title}>"


async def left_running(before: set[asyncio.Task[Any]]) -> list[str]:
    """The tasks started since ``before`` that are still running, named for the learner ("job()
    in Task-5"); they are cancelled and awaited, so a wrong answer leaves nothing behind."""
    for _ in range(3):  # let tasks that were just cancelled or finished run their last step
        await asyncio.sleep(0)
    current = asyncio.current_task()
    running = [
        task
        for task in asyncio.all_tasks() - before
        if task is not current and not task.done() and _belongs_to_answer(task)
    ]
    for task in running:
        task.cancel()
    if running:
        await asyncio.wait(running, timeout=5)
    return sorted(f"{_coroutine_name(task)} in {task.get_name()}" for task in running)


def _coroutine_name(task: asyncio.Task[Any]) -> str:
    return f"{getattr(task.get_coro(), '__qualname__', 'something')}()"


def _belongs_to_answer(task: asyncio.Task[Any]) -> bool:
    """Whether a task was started by the code under check, not by the kernel serving the
    notebook (ipykernel and tornado may start tasks of their own meanwhile)."""
    code = getattr(task.get_coro(), "cr_code", None)
    filename = code.co_filename if code is not None else ""
    return not any(part in filename for part in ("ipykernel", "tornado", "zmq", "jupyter_"))


def _describe(error: Exception) -> str:
    """The error, and where in the learner's code it was raised."""
    text = f"your code raised {type(error).__name__}"
    if str(error):
        text += f": {error}"
    frames = [
        f
        for f in traceback.extract_tb(error.__traceback__)
        if not f.filename.startswith(_LIBRARY_FOLDERS) and "site-packages" not in f.filename
    ]
    if frames:
        frame = frames[-1]
        line = (frame.line or linecache.getline(frame.filename, frame.lineno or 0)).strip()
        text += f" (in {frame.name}, at `{line}`)" if line else f" (in {frame.name})"
    return text


def function(answer: object, name: str, *, coroutine: bool = True) -> Callable[..., Any]:
    """``answer`` if it is the function an exercise asks for, else a :class:`Mistake` that
    says what it is instead."""
    if answer is None:
        raise Mistake(f"{name} is None: define it in the cell above, run that cell, then this one")
    if coroutine and inspect.isasyncgenfunction(answer):
        raise Mistake(f"{name} is an async generator (it has a yield): return the result instead")
    if not callable(answer):
        raise Mistake(f"{name} should be a function, not a {type(answer).__name__}")
    if coroutine and not inspect.iscoroutinefunction(answer):
        raise Mistake(f"{name} should be a coroutine function: define it with async def")
    if not coroutine and inspect.iscoroutinefunction(answer):
        raise Mistake(f"{name} should be a plain function (def, not async def)")
    return answer


_checks_api: list[LocalAPI] = []

#: The local API's settings between checks: fast and faultless.
_API_DEFAULTS: dict[str, Any] = {
    "latency": 0.0,
    "jitter": 0.0,
    "error_rate": 0.0,
    "rate_limit": None,
    "seed": None,
}


def local_api(**settings: Any) -> LocalAPI:
    """The local API the checks run answers against, with ``settings`` (the rest at their
    defaults) and its statistics zeroed. Started at the first check that needs it, and kept
    for the next ones; it is separate from any API the notebook started itself."""
    from .. import start_server

    if not _checks_api or not _checks_api[0].running:
        _checks_api[:] = [start_server()]
    api = _checks_api[0]
    # Requests an earlier check gave up on may still be answered (a server-side delay runs
    # on): let them end, so that they count in no statistic of this check.
    deadline = time.monotonic() + 2.0
    while api.stats()["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.02)
    api.configure(**{**_API_DEFAULTS, **settings})
    api.reset_stats()
    return api
