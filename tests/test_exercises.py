"""Every exercise of every notebook: its solution passes its check, the notebook's untouched
stub fails it with a message, and the notebook gives the solution away nowhere."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from pathlib import Path

import pytest
from exercise_harness import CHECK_CALL, NOTEBOOKS, check_cells, compile_cell, module_for, run_check

from asynckit.exercises import Exercise, Mistake, Verdict
from asynckit.exercises._exercise import function

CASES = [
    pytest.param(notebook, exercise, stub, check, id=f"{notebook.name[:2]}-{exercise}")
    for notebook in NOTEBOOKS
    for exercise, stub, check in check_cells(notebook)
]


def verdict_of(notebook: Path, answer: str, check: str) -> Verdict:
    return asyncio.run(run_check(module_for(notebook), answer, check))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_every_notebook_has_three_checked_exercises(notebook: Path) -> None:
    cells = check_cells(notebook)
    assert len(cells) >= 3, f"{notebook.name} has {len(cells)} checked exercises"
    module = module_for(notebook)
    for exercise, _, check in cells:
        assert isinstance(getattr(module, exercise, None), Exercise), (notebook.name, exercise)
        assert check.strip().count("\n") == 0, f"a check cell is one line: {check!r}"


@pytest.mark.parametrize(("notebook", "exercise", "stub", "check"), CASES)
def test_solution_passes(notebook: Path, exercise: str, stub: str, check: str) -> None:
    solution = getattr(module_for(notebook), exercise).solution_source
    verdict = verdict_of(notebook, solution, check)
    assert verdict.passed, str(verdict)


@pytest.mark.parametrize(("notebook", "exercise", "stub", "check"), CASES)
def test_untouched_stub_fails_with_a_reason(
    notebook: Path, exercise: str, stub: str, check: str
) -> None:
    verdict = verdict_of(notebook, stub, check)
    assert not verdict.passed, str(verdict)
    assert "raised" not in verdict.message, f"the stub should run cleanly: {verdict}"
    assert len(verdict.message) > 30, str(verdict)


def substantive_lines(source: str) -> set[str]:
    """The lines of a solution that give it away: not blank, not a def line, not a bare word."""
    lines = {line.strip() for line in source.splitlines()}
    return {
        line
        for line in lines
        if len(line) > 12 and not re.match(r"(async )?def |return$|pass$|#", line)
    }


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_the_notebook_does_not_hold_the_solutions(notebook: Path) -> None:
    cells = json.loads(notebook.read_text())["cells"]
    shown = "\n".join(
        "".join(cell["source"])
        + "".join(
            "".join(output.get("text", ""))
            + "".join(json.dumps(output.get("data", {})).split("\\n"))
            for output in cell.get("outputs", [])
        )
        for cell in cells
    )
    module = module_for(notebook)
    for exercise, stub, _ in check_cells(notebook):
        solution = getattr(module, exercise).solution_source
        to_write = substantive_lines(solution) - substantive_lines(stub)
        given = sorted(line for line in to_write if line in shown)
        assert len(given) <= len(to_write) // 3, f"{exercise}'s answer is in the notebook: {given}"


def test_a_coroutine_object_is_refused_and_closed() -> None:
    quiz = Exercise("q9", "a quiz", hint="h", solution="s")

    @quiz.checks
    async def _check(answer: object) -> str:
        return "fine"

    async def made() -> None:
        pass

    verdict = asyncio.run(quiz.check(made()))
    assert not verdict.passed and "without parentheses" in verdict.message


def test_an_error_in_the_answer_names_its_line() -> None:
    quiz = Exercise("q9", "a quiz", hint="h", solution="s")

    @quiz.checks
    async def _check(answer: object) -> str:
        await function(answer, "answer")()
        return "fine"

    verdict = asyncio.run(run_check_source(quiz, "async def answer():\n    return 1 / 0\n"))
    assert not verdict.passed
    assert "ZeroDivisionError" in verdict.message and "1 / 0" in verdict.message, verdict


def test_tasks_left_running_fail_the_check_and_are_cancelled() -> None:
    quiz = Exercise("q9", "a quiz", hint="h", solution="s")
    started: list[asyncio.Task[None]] = []

    @quiz.checks
    async def _check(answer: object) -> str:
        started.append(asyncio.create_task(asyncio.sleep(10), name="forgotten"))
        return "fine"

    verdict = asyncio.run(quiz.check(None))
    assert not verdict.passed and "forgotten" in verdict.message, verdict
    assert started[0].cancelled()


def test_a_mistake_and_a_hang_become_verdicts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("asynckit.exercises._exercise.CHECK_TIMEOUT", 0.05)
    quiz = Exercise("q9", "a quiz", hint="use gather", solution="x = 1")

    @quiz.checks
    async def _check(answer: object) -> str:
        if answer == "wrong":
            raise Mistake("it ran one after another")
        if isinstance(answer, TimeoutError):
            raise answer
        await asyncio.Event().wait()
        return "never"

    wrong = asyncio.run(quiz.check("wrong"))
    assert not wrong.passed and "one after another" in str(wrong) and "hint()" in str(wrong)
    hung = asyncio.run(quiz.check("hangs"))
    assert not hung.passed and "did not finish" in hung.message
    timed_out = asyncio.run(quiz.check(TimeoutError("the answer's own deadline")))
    assert "raised TimeoutError: the answer's own deadline" in timed_out.message, timed_out
    assert "use gather" in quiz.hint()._repr_markdown_()
    assert "```python\nx = 1\n```" in quiz.solution()._repr_markdown_()


async def run_check_source(quiz: Exercise, source: str) -> Verdict:
    namespace: dict[str, object] = {}
    exec(compile_cell(source, "<your cell>", "exec"), namespace)
    return await quiz.check(namespace["answer"])


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_solutions_pass_in_the_notebook_itself(notebook: Path, tmp_path: Path) -> None:
    # The learner's way: the whole notebook in a Jupyter kernel, each stub replaced by the
    # solution, every check cell showing its verdict.
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    module = module_for(notebook)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    checks = []
    for stub, cell in itertools.pairwise(code):
        match = CHECK_CALL.search(cell.source)
        if match:
            stub.source = getattr(module, match.group(1)).solution_source
            checks.append(cell)
    NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(notebook.parent)}},
    ).execute()
    verdicts = ["".join(o.get("data", {}).get("text/plain", "")) for c in checks for o in c.outputs]
    assert len(verdicts) == len(checks), verdicts
    for verdict in verdicts:
        assert verdict.startswith("Correct"), verdict
