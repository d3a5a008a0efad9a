"""Running an exercise's check on code given as text, as a learner's notebook would.

The code runs in a namespace with the imports every notebook's setup cell makes, plus what the
exercise module says the notebook defined before the exercise (its ``GIVEN``), and the check
cell runs as the notebook has it (``await ex.q1.check(...)``).
"""

from __future__ import annotations

import ast
import asyncio
import importlib
import itertools
import json
import linecache
import re
from pathlib import Path
from types import ModuleType
from typing import Any

from asynckit.exercises import Verdict

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

PRELUDE = """\
import asyncio
import contextlib
import time
import aiohttp
import asynckit
"""

CHECK_CALL = re.compile(r"await\s+ex\.(q\d+)\.check\(")


def module_for(notebook: Path) -> ModuleType:
    """The exercise module of a notebook: ``asynckit.exercises.ex01`` for ``01_*.ipynb``."""
    return importlib.import_module(f"asynckit.exercises.ex{notebook.name[:2]}")


def code_cells(notebook: Path) -> list[str]:
    cells = json.loads(notebook.read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def check_cells(notebook: Path) -> list[tuple[str, str, str]]:
    """``(exercise, stub, check)`` for each check cell of the notebook: the check cell's source
    and the code cell before it, where the learner writes their answer."""
    cells = code_cells(notebook)
    found = []
    for before, cell in itertools.pairwise(cells):
        match = CHECK_CALL.search(cell)
        if match:
            found.append((match.group(1), before, cell))
    return found


def compile_cell(source: str, name: str, mode: str) -> Any:
    linecache.cache[name] = (len(source), None, source.splitlines(True), name)
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    return compile(source, name, mode, flags=flags)


async def run_check(module: ModuleType, answer: str, check: str) -> Verdict:
    """Run ``answer`` (a learner's cell) then ``check`` (the check cell), and return the
    verdict the check cell shows."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(compile_cell(PRELUDE, "<setup>", "exec"), namespace)
    namespace.update(getattr(module, "GIVEN", {}))
    namespace["ex"] = module
    answered = eval(compile_cell(answer, "<your cell>", "exec"), namespace)
    if answered is not None:  # the cell had a top-level await
        await answered
    verdict = await eval(compile_cell(check.strip(), "<check cell>", "eval"), namespace)
    assert isinstance(verdict, Verdict), f"the check cell gave {verdict!r}, not a Verdict"
    return verdict


def check_call(exercise: str, answer: str) -> str:
    """The check cell for ``answer``: ``await ex.q1.check(f)``, where ``f`` is the last
    function the answer defines."""
    entry = re.findall(r"^(?:async )?def (\w+)", answer, flags=re.M)[-1]
    return f"await ex.{exercise}.check({entry})"


def assert_fails_saying(module: ModuleType, answer: str, check: str, says: str) -> None:
    """Run a wrong answer, then its check cell: the check must fail, and its message must
    name the mistake (contain ``says``)."""
    verdict = asyncio.run(run_check(module, answer, check))
    assert not verdict.passed, str(verdict)
    assert says in verdict.message, str(verdict)
