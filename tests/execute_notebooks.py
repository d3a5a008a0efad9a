"""Execute the course's notebooks in place, top to bottom, so their stored outputs are fresh.

    python tests/execute_notebooks.py                 # every notebook, in reading order
    python tests/execute_notebooks.py notebooks/02_*.ipynb

Each notebook runs in a fresh kernel of this Python, from the notebooks folder, as a learner's
would. Cells tagged ``raises-exception`` may fail; any other failure stops with the cell's error.
Prints how long each notebook took.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
CELL_TIMEOUT = 300


def execute(path: Path) -> float:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=False,  # widgets live only with a kernel; the stored output is a plot
    )
    started = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - started
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)  # wall-clock stamps would churn the diff
    nbformat.write(notebook, path)
    return elapsed


def main(argv: list[str]) -> int:
    paths = [Path(a).resolve() for a in argv] or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        print(f"no notebooks found in {NOTEBOOKS}", file=sys.stderr)
        return 1
    total = 0.0
    for path in paths:
        elapsed = execute(path)
        total += elapsed
        print(f"{path.name:55} {elapsed:6.1f} s", flush=True)
    print(f"{'all ' + str(len(paths)) + ' notebooks':55} {total:6.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
