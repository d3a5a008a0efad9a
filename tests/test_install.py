"""asynckit in one's own notebook: the built wheel, installed (not editable) into a fresh
virtual environment outside the repository, runs the README's own example in a notebook."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def readme_example() -> str:
    """The code of the README's section "Use asynckit in your own notebook"."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Use asynckit in your own notebook", 1)[1]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "the README's section has no python code block"
    return blocks[0]


CHECKS = """\
import pathlib, sys
import asynckit
from asynckit import _data
assert "site-packages" in asynckit.__file__, asynckit.__file__
assert pathlib.Path(sys.prefix) in pathlib.Path(asynckit.__file__).parents
assert len(_data.load("comments")) == 500, "bundled data did not load from the wheel"
assert len(posts) == 2 and posts[0]["id"] == 1
assert sorted(s.kind for s in tl.spans) == ["fetch", "fetch", "sleep"]
api.stop()
print("installed asynckit works:", asynckit.__file__)
"""

RUN_NOTEBOOK = """\
import sys, nbformat
from nbclient import NotebookClient
notebook = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
nbformat.write(notebook, sys.argv[1])
"""


@pytest.mark.timeout(900)  # builds a virtual environment from the package index
def test_the_wheel_runs_the_readme_example_in_a_notebook(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
        check=True,
    )
    (wheel,) = wheels.glob("asynckit-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run(
        [python, "-m", "pip", "install", "-q", str(wheel), "ipykernel", "nbclient", "nbformat"],
        check=True,
    )

    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(readme_example()),
        nbformat.v4.new_code_cell(CHECKS),
    ]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    path = tmp_path / "mine.ipynb"
    nbformat.write(notebook, path)
    subprocess.run([python, "-c", RUN_NOTEBOOK, str(path)], check=True, cwd=tmp_path)

    cells = json.loads(path.read_text())["cells"]
    outputs = [o for cell in cells for o in cell["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "the plot did not render"
    printed = "".join("".join(o.get("text", "")) for o in outputs)
    assert "3 spans:" in printed and "installed asynckit works:" in printed
    assert str(ROOT) not in printed  # it was the installed copy, not the checkout


def test_the_readme_example_is_what_this_test_runs():
    code = readme_example()
    assert "asynckit.start_server" in code and "asynckit.Timeline()" in code
    assert textwrap.dedent(code) == code
