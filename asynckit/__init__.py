"""asynckit: see asynchronous Python.

Instrumented coroutines record spans into a Timeline; timelines plot as one row per task;
``compare`` measures the same work sequentially and concurrently against the ideal; a local
JSON API serves every fetch example offline; ``run`` works inside Jupyter's running loop.

Example::

    import asynckit
    c = await asynckit.compare(lambda: [asynckit.sleep(0.5) for _ in range(4)])
    c   # both timelines, the speedup and the ideal
"""

from ._compare import Comparison, compare
from ._errors import AsynckitError
from ._explore import Explorer, explore
from ._http import FetchError, fetch, fetch_all, fetch_json
from ._instrument import sleep, span, traced, work
from ._plot import plot_bars, plot_measurements, plot_timeline
from ._run import run
from ._server import LocalAPI, ServerError, serve, start_server
from ._timeline import Span, Timeline
from ._trace import trace_config

__version__ = "0.1.0"


def load_ipython_extension(ipython: object) -> None:
    """IPython's hook for ``%load_ext asynckit``: registers the ``%%timeline`` cell magic.

    Importing asynckit does not import IPython; loading the extension does.
    """
    from ._magic import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: object) -> None:
    """IPython's hook for ``%unload_ext asynckit``: takes ``%%timeline`` out again."""
    from ._magic import unload_ipython_extension as unload

    unload(ipython)


__all__ = [
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
]
