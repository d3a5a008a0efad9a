"""Which async library runs this code, which task is running, and how their names read."""

from __future__ import annotations

import asyncio
import sys
from asyncio import _get_running_loop
from collections.abc import Awaitable, Callable
from sys import modules as _modules
from typing import Any

from sniffio import current_async_library_cvar as _library_cvar
from sniffio import thread_local as _library_local

from ._errors import AsynckitError

__all__ = [
    "asyncio_loop",
    "current_library",
    "current_task",
    "current_task_async",
    "error_name",
    "library_sleep",
    "running_library",
    "short_task_name",
    "task_name",
]


def running_library() -> str | None:
    """Which async library runs this code: "asyncio", "trio", "curio", or None.

    Like ``sniffio.current_async_library``, but it asks Curio before asyncio: Curio started
    from a Jupyter cell runs inside asyncio's running loop, where sniffio answers "asyncio".
    """
    name = _library_local.name or _library_cvar.get()
    if name:
        return name
    if curio_running():
        return "curio"
    if _get_running_loop() is not None:
        return "asyncio"
    return None


def asyncio_loop() -> asyncio.AbstractEventLoop | None:
    """The running asyncio loop when asyncio runs this code, else None: what the paths that
    run for every span ask first. It is ``running_library() == "asyncio"`` made cheap: Trio
    or Curio can run inside an asyncio loop (a Jupyter cell), but only once imported."""
    loop = _get_running_loop()
    if loop is None or ("trio" not in _modules and "curio" not in _modules):
        return loop
    # running_library(), written out: once Trio or Curio is imported, every span asks.
    name = _library_local.name or _library_cvar.get()
    if name:
        return loop if name == "asyncio" else None
    return None if curio_running() else loop


def curio_running() -> bool:
    """Whether a Curio kernel runs this code (without importing Curio if nobody has)."""
    curio_meta = _modules.get("curio.meta")
    if curio_meta is None:
        return False
    # Curio's curio_running() is getattr(its thread-local, "running", False), which raises
    # and catches an AttributeError whenever Curio is not running: eight times the cost of
    # reading the thread's own attributes.
    own = getattr(curio_meta, "_locals", None)
    if own is None:
        return bool(curio_meta.curio_running())
    return bool(own.__dict__.get("running", False))


def current_library(what: str) -> str:
    """The async library running this code, or an error saying that ``what`` needs one."""
    library = running_library()
    if library is None:
        raise AsynckitError(
            f"{what} must be awaited under asyncio, Trio or Curio (for example in a Jupyter "
            "cell, or inside asyncio.run(...))"
        )
    return library


def current_task(library: str | None = None) -> object | None:
    """The task running this code (an asyncio or Trio task object), or None outside a task,
    in a worker thread, and in synchronous code under Curio (which offers no way to ask)."""
    if library is None:
        loop = asyncio_loop()
        if loop is not None:
            return asyncio.current_task(loop)
        library = running_library()
    if library == "asyncio":
        try:
            return asyncio.current_task()
        except RuntimeError:
            return None
    if library == "trio":
        import trio

        try:
            return trio.lowlevel.current_task()
        except RuntimeError:  # a worker thread of Trio's
            return None
    return None


async def current_task_async(library: str) -> object | None:
    """Like :func:`current_task`, and it also finds the task under Curio (by asking it)."""
    if library == "curio":
        import curio

        task: object | None = await curio.current_task()
        return task
    return current_task(library)


def task_name(task: object) -> str:
    """What a task is called: asyncio's name for it, or the function a Trio or Curio task runs,
    without its module path ("asynckit._instrument.sleep" reads "sleep")."""
    get_name = getattr(task, "get_name", None)
    if get_name is not None:  # an asyncio task
        return str(get_name())
    name = getattr(task, "name", None)
    return short_task_name(name) if isinstance(name, str) else repr(task)


def short_task_name(name: str) -> str:
    """Trio and Curio name a task after its function, module path and all
    ("asynckit._instrument.sleep"); a row needs only the function ("sleep")."""
    if " " in name or "." not in name:
        return name
    return name.rsplit(".", 1)[-1]


def error_name(exc: BaseException) -> str:
    """How a span records the exception that ended it: ``"cancelled"`` or its type name."""
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    trio = sys.modules.get("trio")
    if trio is not None and isinstance(exc, trio.Cancelled):
        return "cancelled"
    curio_errors = sys.modules.get("curio.errors")
    if curio_errors is not None and isinstance(exc, curio_errors.CancelledError):
        return "cancelled"
    return type(exc).__name__


def library_sleep(library: str) -> Callable[[float], Awaitable[Any]]:
    """The running library's own sleep function."""
    if library == "asyncio":
        return asyncio.sleep
    if library == "trio":
        import trio

        return trio.sleep
    if library == "curio":
        import curio

        return curio.sleep  # type: ignore[no-any-return]
    raise AsynckitError(f"asynckit supports asyncio, Trio and Curio, not {library}")
