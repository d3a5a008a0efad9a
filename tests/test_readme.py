"""The README's "See your own code" section, run as written: its cells, in an IPython shell,
the way a notebook runs them."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from IPython.core.interactiveshell import InteractiveShell

README = Path(__file__).resolve().parent.parent / "README.md"


def section_cells() -> list[str]:
    text = README.read_text()
    section = text.split("## See your own code", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_see_your_own_code_section_runs(tmp_path, monkeypatch, capsys):
    cells = section_cells()
    assert len(cells) == 3 and cells[1].startswith("%%timeline")
    monkeypatch.chdir(tmp_path)  # the README saves a trace in the working directory
    shell = InteractiveShell.instance()

    async def main():
        results = []
        for cell in cells:
            transformed = shell.transform_cell(cell)
            task = asyncio.ensure_future(
                shell.run_cell_async(cell, store_history=False, transformed_cell=transformed)
            )
            try:
                results.append(await task)
            finally:
                shell.events.trigger("post_execute")
        return results

    try:
        results = asyncio.run(main())
        tl = shell.user_ns["tl"]
    finally:
        shell.run_line_magic("unload_ext", "asynckit")
        InteractiveShell.clear_instance()
    assert all(r.success for r in results), [r.error_in_exec for r in results]
    printed = capsys.readouterr().out
    assert "5 requests (at most 2 in flight)" in printed, printed
    # The output the README promises after its last line of code.
    promised = cells[2].split("# ", 1)[1].split("\n", 1)[0].strip()
    assert promised in printed, printed
    assert (tmp_path / "five_posts.json").exists()
    assert tl.max_lag < tl.elapsed / 2  # the server started before: nothing in it blocks
