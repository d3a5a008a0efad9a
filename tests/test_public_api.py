"""The public API is exactly what asynckit/__init__.py lists: nothing leaks, nothing is missing."""

import inspect
import subprocess
import sys

import asynckit

EXPECTED = {
    "AsynckitError",
    "Comparison",
    "Explorer",
    "FetchError",
    "LocalAPI",
    "ServerError",
    "Span",
    "Timeline",
    "compare",
    "explore",
    "fetch",
    "fetch_all",
    "fetch_json",
    "plot_bars",
    "plot_measurements",
    "plot_timeline",
    "run",
    "serve",
    "sleep",
    "span",
    "start_server",
    "trace_config",
    "traced",
    "work",
}


def test_all_is_pinned():
    assert set(asynckit.__all__) == EXPECTED
    assert len(asynckit.__all__) == len(EXPECTED)


def test_every_public_name_exists_and_is_documented_with_an_example():
    for name in asynckit.__all__:
        obj = getattr(asynckit, name)
        doc = inspect.getdoc(obj)
        assert doc, f"{name} has no docstring"
        assert "Example::" in doc, f"{name}'s docstring has no example"


def test_no_private_module_leaks_as_a_public_attribute():
    public = {n for n in dir(asynckit) if not n.startswith("_")}
    # Submodules appear as attributes once imported: the server's command line, the exercises.
    # IPython's extension hooks are module-level functions by IPython's convention.
    hooks = {"load_ipython_extension", "unload_ipython_extension"}
    assert public - EXPECTED <= {"server", "exercises"} | hooks, public - EXPECTED


def test_errors_share_one_base_class():
    assert issubclass(asynckit.FetchError, asynckit.AsynckitError)
    assert issubclass(asynckit.ServerError, asynckit.AsynckitError)


def test_version_is_a_string():
    assert isinstance(asynckit.__version__, str) and asynckit.__version__.count(".") == 2


def test_import_has_no_side_effects():
    code = (
        "import asyncio, sys, threading\n"
        "task_class, future_class = asyncio.Task, asyncio.Future\n"
        "import asynckit\n"
        "assert asyncio.Task is task_class and asyncio.Future is future_class, 'asyncio patched'\n"
        "assert 'nest_asyncio' not in sys.modules\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported eagerly'\n"
        "assert not {'ipywidgets', 'anywidget', 'IPython'} & set(sys.modules), 'widgets imported'\n"
        "assert threading.active_count() == 1, 'a thread was started'\n"
        "assert asynckit._data.load_text.cache_info().currsize == 0, 'data read at import'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def import_graph():
    """Which asynckit module imports which, at run time (imports inside functions included,
    imports under ``if TYPE_CHECKING:`` left out)."""
    import ast
    from pathlib import Path

    package = Path(asynckit.__file__).parent
    graph = {}
    for path in sorted(package.glob("*.py")):
        tree = ast.parse(path.read_text())
        type_only = {
            id(node)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
            for statement in block.body
            for node in ast.walk(statement)
        }
        graph[path.stem] = {
            node.module.split(".")[-1] if node.level else node.module.split(".")[1]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            and id(node) not in type_only
            and node.module
            and (node.level == 1 or node.module.startswith("asynckit."))
        }
    return graph


def test_the_import_graph_has_no_cycle_outside_type_only_imports():
    graph = import_graph()
    assert graph["_timeline"] >= {"_library", "_loopwatch"}  # the graph is really read
    done, path = set(), []

    def visit(module):
        assert module not in path, "import cycle: " + " -> ".join([*path, module])
        if module in done:
            return
        path.append(module)
        for imported in sorted(graph.get(module, ())):
            visit(imported)
        path.pop()
        done.add(module)

    for module in graph:
        visit(module)
