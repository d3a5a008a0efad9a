"""The notebooks as files: the shape every lesson keeps, stored outputs from Binder's Python,
and test plumbing kept in cell tags, out of the reader's sight."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
IDS = [n.stem for n in NOTEBOOKS]
NBVAL_TAGS = {"nbval-check-output", "nbval-skip", "nbval-ignore-output", "raises-exception"}


def cells(notebook: Path) -> list[dict]:
    return json.loads(notebook.read_text())["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=IDS)
def test_test_plumbing_lives_in_tags_not_in_the_source(notebook: Path) -> None:
    for cell in cells(notebook):
        assert "NBVAL" not in source(cell).upper(), source(cell)[:200]
        for tag in cell["metadata"].get("tags", []):
            assert tag in NBVAL_TAGS, f"unknown cell tag {tag!r} in {notebook.name}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=IDS)
def test_stored_outputs_come_from_python_3_12(notebook: Path) -> None:
    version = json.loads(notebook.read_text())["metadata"]["language_info"]["version"]
    assert version.startswith("3.12."), f"{notebook.name} was last run on Python {version}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=IDS)
def test_no_wall_of_prose(notebook: Path) -> None:
    for cell in cells(notebook):
        if cell["cell_type"] == "markdown":
            lines = source(cell).splitlines()
            assert len(lines) <= 22, f"{len(lines)} lines: {lines[0]}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=IDS)
def test_every_notebook_ends_with_what_was_learned_and_what_comes_next(notebook: Path) -> None:
    markdown = [source(c) for c in cells(notebook) if c["cell_type"] == "markdown"]
    learned = [m for m in markdown if m.startswith("## What you learned")]
    assert len(learned) == 1, f"{notebook.name} has no single 'What you learned' section"
    bullets = [line for line in learned[0].splitlines() if line.startswith("- ")]
    assert 3 <= len(bullets) <= 5, f"{len(bullets)} bullets"
    position = NOTEBOOKS.index(notebook)
    if position + 1 < len(NOTEBOOKS):
        following = NOTEBOOKS[position + 1].name
        assert f"({following})" in markdown[-1] or f"({following})" in learned[0], (
            f"{notebook.name} does not end with a link to {following}"
        )


#: The article's first example, as it prints it (its last line, asyncio.run(main()), left out:
#: a notebook awaits main() instead).
ARTICLE_GREET = """\
import asyncio
async def greet():
    print("Hello,")
    await asyncio.sleep(1)
    print("world!")
async def main():
    await asyncio.gather(greet(), greet(), greet())
"""


def test_the_article_opens_notebook_01_verbatim() -> None:
    example = ARTICLE_GREET
    first_code = next(c for c in cells(NOTEBOOKS[1]) if c["cell_type"] == "code" and _not_setup(c))
    lines = [line for line in source(first_code).splitlines() if line.strip()]
    assert lines[: len(example.splitlines())] == example.splitlines(), source(first_code)
    assert "nbval-check-output" in first_code["metadata"].get("tags", [])
    printed = "".join("".join(o.get("text", "")) for o in first_code["outputs"])
    assert printed == "Hello,\nHello,\nHello,\nworld!\nworld!\nworld!\n", printed


def _not_setup(cell: dict) -> bool:
    return "import asynckit" not in source(cell)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_make_notebooks_runs_a_notebook_in_place(tmp_path: Path) -> None:
    # What `make notebooks` runs, on a copy: the notebook's outputs are made anew by the
    # Python that runs the script, and the file is rewritten in place.
    copy = tmp_path / NOTEBOOKS[0].name
    notebook = json.loads(NOTEBOOKS[0].read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    copy.write_text(json.dumps(notebook))
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "execute_notebooks.py"), str(copy)],
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rerun = json.loads(copy.read_text())
    version = rerun["metadata"]["language_info"]["version"]
    assert version == "{}.{}.{}".format(*sys.version_info[:3]), version
    assert all(
        c["execution_count"] is not None
        for c in rerun["cells"]
        if c["cell_type"] == "code" and source(c).strip()
    )
    assert re.search(r"\d+\.\d s", result.stdout), result.stdout
