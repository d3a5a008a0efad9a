"""The ``%%timeline`` cell magic: see a notebook cell's tasks, spans and requests, unchanged.

``%load_ext asynckit`` calls :func:`load_ipython_extension`. A cell magic cannot await, so
``%%timeline`` is not run as one: a cell that starts with it has that first line replaced,
before IPython reads the cell, by a call that starts a Timeline, and the rest of the cell runs
as any cell does (top-level ``await`` and the displayed last value included). When the cell is
over, however it ended (finished, raised, or interrupted), the kernel's ``post_execute`` event
closes the Timeline, which takes the task factory and the lag meter off the loop, and shows it.
A cell that raises is closed earlier, as IPython is about to draw its traceback (through the
shell's custom exception handler, passed on to the shell's own, if any): drawing it blocks the
loop, and is not the cell's doing. Nothing in asyncio or aiohttp is patched.
"""

from __future__ import annotations

import argparse
import functools
import keyword
import os
import re
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from threading import current_thread
from types import TracebackType
from typing import Any, NoReturn

from ._errors import AsynckitError
from ._library import running_library
from ._run import RUN_THREAD
from ._timeline import REQUEST_KINDS, Timeline

__all__ = ["begin", "finish", "load_ipython_extension", "unload_ipython_extension"]

_FIRST_LINE = re.compile(r"%%timeline(?:[ \t]+(.*))?$")
_OTHER_LIBRARIES = {"trio": "Trio", "curio": "Curio"}
#: Kinds of span recorded by watching asyncio (tasks, their work in threads) or aiohttp.
_WATCHED_KINDS = ("task", "thread", *REQUEST_KINDS)


@dataclass
class _Recording:
    """A %%timeline cell under way: its Timeline, what to do with it at the end, the file
    name the cell's code runs under, and the shell's own custom exception handling, if any
    (the exception types and the handler), to pass errors on to and put back."""

    timeline: Timeline
    options: argparse.Namespace
    mentioned: tuple[str, ...]
    shell: Any
    cell_file: str | None = None
    custom_exc: tuple[tuple[type[BaseException], ...], Any] | None = None
    stopped: bool = False

    def stop(self) -> None:
        """Stop recording (once): the loop gets back its task factory, the lag meter stops."""
        if not self.stopped:
            self.stopped = True
            self.timeline.__exit__(None, None, None)

    def catch_errors(self) -> None:
        """Have the shell hand this cell's errors to :func:`_cell_raised` first."""
        if self.shell is None or not hasattr(self.shell, "set_custom_exc"):
            return
        self.custom_exc = (self.shell.custom_exceptions, self.shell.CustomTB)
        self.shell.set_custom_exc((BaseException,), _cell_raised)

    def release_errors(self) -> None:
        """Give the shell back its own custom exception handling."""
        if self.custom_exc is not None:
            self.shell.custom_exceptions, self.shell.CustomTB = self.custom_exc
            self.custom_exc = None


_recording: list[_Recording] = []  # the cell being recorded, if any (at most one)


class _Parser(argparse.ArgumentParser):
    """An argument parser that raises on bad options instead of exiting the kernel."""

    def error(self, message: str) -> NoReturn:
        raise ValueError(message)


@functools.cache  # built once: parsing leaves a parser as it was
def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="%%timeline",
        description="Record this cell's tasks, spans and requests, then draw them.",
        add_help=False,
        exit_on_error=False,
    )
    parser.add_argument("--lag", action="store_true", help="also measure the loop's lag")
    parser.add_argument(
        "--no-tasks", action="store_true", help="do not record tasks nor their work in threads"
    )
    parser.add_argument("--live", action="store_true", help="draw the timeline while it records")
    parser.add_argument("--title", help="the plot's title")
    parser.add_argument("--save", metavar="PATH", help="also save a trace file for Perfetto")
    parser.add_argument("--out", metavar="NAME", help="bind the Timeline to this variable")
    return parser


def load_ipython_extension(shell: Any) -> None:
    """Register ``%%timeline`` in IPython (what ``%load_ext asynckit`` calls)."""
    unload_ipython_extension(shell)  # loading twice registers once
    shell.input_transformers_cleanup.append(_rewrite)
    shell.events.register("post_execute", _post_execute)
    shell.register_magic_function(timeline, magic_kind="cell", magic_name="timeline")


def unload_ipython_extension(shell: Any) -> None:
    """Take ``%%timeline`` out of IPython again (``%unload_ext asynckit``)."""
    transforms = shell.input_transformers_cleanup
    while _rewrite in transforms:
        transforms.remove(_rewrite)
    if _post_execute in shell.events.callbacks["post_execute"]:
        shell.events.unregister("post_execute", _post_execute)
    finish(show=False)


def timeline(line: str, cell: str) -> None:
    """%%timeline [--lag] [--no-tasks] [--live] [--title TITLE] [--save PATH] [--out NAME]

    Record the cell's asyncio tasks, the functions they run in threads (asyncio.to_thread,
    loop.run_in_executor(None, ...)), every instrumented span (asynckit.sleep, span, traced,
    fetch) and every request of an aiohttp session created with asynckit.trace_config(), then
    draw them with a one-line summary: wall time, tasks, peak tasks alive, requests, peak
    requests in flight, calls in threads, longest loop lag. The cell's code needs no change.

      --lag         also measure how late the event loop runs (a blocking call is a spike)
      --no-tasks    record neither every task's lifetime nor their work in threads
      --live        draw the timeline while the cell runs (where no widget can show, such as
                    a terminal or nbval, the plot appears when the cell ends, as without it)
      --title TEXT  the plot's title
      --save PATH   also write a Chrome Trace Event file (open it in https://ui.perfetto.dev)
      --out NAME    bind the Timeline to the variable NAME

    Load it first with %load_ext asynckit, and put it on the first line of the cell.
    """
    # Reached only when the extension's input transformer did not see the cell first.
    raise AsynckitError(
        "%%timeline must be the first line of a cell, after %load_ext asynckit has run"
    )


def _rewrite(lines: list[str]) -> list[str]:
    """IPython input transformer: a cell whose first line is ``%%timeline ...`` gets that line
    replaced by a call that starts recording (one line for one, so line numbers in tracebacks
    stay those of the cell)."""
    if not lines:
        return lines
    match = _FIRST_LINE.match(lines[0].rstrip("\r\n"))
    if match is None:
        return lines
    body = "".join(lines[1:])
    mentioned = tuple(name for name in _OTHER_LIBRARIES if re.search(rf"\b{name}\.run\b", body))
    call = f"__import__('asynckit._magic').{_magic_attribute()}.begin({match.group(1) or ''!r}"
    call += f", {mentioned!r})\n" if mentioned else ")\n"
    return [call, *lines[1:]]


def _magic_attribute() -> str:
    return __name__.rsplit(".", 1)[-1]


def begin(line: str = "", mentioned: Sequence[str] = ()) -> None:
    """Start recording a ``%%timeline`` cell with the options of its first line."""
    try:
        options = _parser().parse_args(shlex.split(line))
    except (argparse.ArgumentError, ValueError) as error:
        raise _usage_error(f"%%timeline: {error}. {_parser().format_usage().strip()}") from None
    if options.out is not None and (
        not options.out.isidentifier() or keyword.iskeyword(options.out)
    ):
        raise _usage_error(f"%%timeline --out takes a variable name, not {options.out!r}")
    if options.save is not None:
        options.save = os.path.expanduser(options.save)
    finish(show=False)  # a recording left open (a cell run silently) ends here
    # Tasks and lag are the running loop's; a shell that runs no loop (a terminal IPython
    # running a cell without await) records the instrumented spans alone.
    loop_runs = running_library() == "asyncio"
    tl = Timeline(
        options.title,
        tasks=loop_runs and not options.no_tasks,
        lag=loop_runs and options.lag,
        live=options.live,
    )
    tl.__enter__()
    caller = sys._getframe(1)  # the cell's own code, whose first line this call is
    recording = _Recording(tl, options, tuple(mentioned), _shell(), caller.f_code.co_filename)
    recording.catch_errors()
    _recording.append(recording)


def finish(show: bool = True) -> Timeline | None:
    """Stop recording the cell under way, if any: the loop gets back its task factory and
    loses the lag meter's timer. With ``show``, print the summary and display the timeline,
    save it and bind it as its options say. Returns the Timeline."""
    if not _recording:
        return None
    recording = _recording.pop()
    recording.release_errors()
    recording.stop()
    tl = recording.timeline
    if not show:
        return tl
    options = recording.options
    if options.out is not None and recording.shell is not None:
        recording.shell.user_ns[options.out] = tl
    print(tl.summary())
    note = _unseen(tl, recording.mentioned)
    if note:
        print(note)
    if options.save is not None:
        try:
            tl.save(options.save)
        except AsynckitError as error:
            print(f"%%timeline --save: {error}", file=sys.stderr)
        else:
            print(f"saved to {options.save}: open it in https://ui.perfetto.dev")
    if (len(tl) or tl.lag) and not tl.live:  # a live view has settled into the plot itself
        from IPython.display import display

        display(tl)  # type: ignore[no-untyped-call]
    return tl


def _post_execute() -> None:
    finish()


def _cell_raised(
    shell: Any,
    etype: type[BaseException],
    value: BaseException,
    tb: TracebackType | None,
    tb_offset: int | None = None,
) -> Any:
    """The shell's custom exception handler while a %%timeline cell runs: the cell's code is
    over, so stop recording before the traceback is drawn, then draw it as the shell would."""
    recording = _recording[-1] if _recording else None
    if recording is not None and _raised_in(tb, recording.cell_file):
        recording.stop()  # not a cell run from inside this one (shell.run_cell(...))
    if recording is not None and recording.custom_exc is not None:
        types, handler = recording.custom_exc
        if types and issubclass(etype, types):
            return handler(etype, value, tb, tb_offset=tb_offset)
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset, running_compiled_code=True)
    return None


def _raised_in(tb: TracebackType | None, filename: str | None) -> bool:
    """Whether a frame of the traceback runs code of that file (any, when it is None)."""
    if filename is None:
        return True
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            return True
        tb = tb.tb_next
    return False


def _unseen(tl: Timeline, mentioned: Sequence[str]) -> str:
    """What asynckit could not see in the cell: inside Trio or Curio, or on the loop of its own
    that asynckit.run() starts in a thread, only what is instrumented."""
    notes = [_unseen_library(tl, mentioned)]
    if RUN_THREAD in tl.threads:
        notes.append(
            "asynckit.run() ran a coroutine on an event loop of its own, in a thread: asynckit "
            "sees the spans recorded there, not the lifetimes of its tasks nor the calls they "
            "hand to threads; await the coroutine in the cell instead (a cell can await)"
        )
    return "\n".join(note for note in notes if note)


def _unseen_library(tl: Timeline, mentioned: Sequence[str]) -> str:
    seen = tl.libraries & set(_OTHER_LIBRARIES)
    names = [_OTHER_LIBRARIES[n] for n in _OTHER_LIBRARIES if n in seen or n in mentioned]
    if not names:
        return ""
    which = " and ".join(names)
    recorded = sum(1 for s in tl.spans if s.kind not in _WATCHED_KINDS)
    return (
        f"{which} ran in this cell: asynckit sees inside it only its own instrumented calls "
        f"(asynckit.sleep, span, traced: {recorded:,} spans recorded), not the lifetimes of "
        f"{which}'s tasks nor its requests (the task factory and aiohttp tracing are "
        "asyncio's)"
        + (
            "; it ran in the notebook's own thread, holding the loop: run it with "
            "asyncio.to_thread to keep the loop free"
            if any(s.thread == current_thread().name for s in tl.spans if s.kind == "sleep")
            and any(s.task is not None for s in tl.spans)
            else ""
        )
    )


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # begin() called outside IPython: nothing to bind --out in
        return None
    return get_ipython()


def _usage_error(message: str) -> Exception:
    from IPython.core.error import UsageError

    return UsageError(message)
