"""The local API server: a process of its own, the caller's event loop, or a terminal.

It serves the bundled posts, comments, albums, todos and users as JSON on 127.0.0.1, like the
public jsonplaceholder service but on your machine, with latency, random failures and a rate
limit you choose. Three ways to run it:

- ``api = asynckit.start_server(latency=0.1)`` runs it in a child process, ``python -m
  asynckit.server``, for notebooks. Its work does not share the notebook's interpreter lock
  (GIL), so what a notebook measures is the client, not the server; it works whatever library
  the notebook uses (asyncio, Trio or Curio) and lasts across cells until ``api.stop()``.
- ``async with asynckit.serve(latency=0.1) as api:`` runs it on the running asyncio loop, in
  this process, for as long as the block; for scripts and tests that want no child process.
- ``python -m asynckit.server --latency 0.1`` runs it in a terminal, until Ctrl-C.

A ``LocalAPI`` is the handle to a running server, whichever way it runs: ``url``, ``stats()``,
``configure()``. A server in a child process is driven over a control route that needs a
random token only its parent knows; the child ends when its parent ends, however it ends,
because it watches its standard input, a pipe from the parent, for end of file.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import concurrent.futures
import contextlib
import enum
import errno
import http.client
import json
import logging
import os
import secrets
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final, Protocol, TypeVar

import aiohttp.log
from aiohttp import web

from ._app import (
    CONTROL_PATH,
    TOKEN_HEADER,
    App,
    Settings,
    Stats,
    check_origins,
    quiet_client_errors,
)
from ._errors import AsynckitError
from ._instrument import current_library

__all__ = ["LocalAPI", "ServerError", "main", "serve", "start_server"]

HOST: Final = "127.0.0.1"
_SHUTDOWN_GRACE = 0.5  # seconds in-flight requests get to finish when a server stops
_START_TIMEOUT = 30.0  # seconds a child process gets to start listening (cold caches are slow)
_ANSWER_TIMEOUT = 10.0  # seconds to wait for the server to answer a control call or to stop
_ENDING = 1.0  # seconds a child that stopped answering gets to be seen ending
_STDERR_TAIL = 2000  # characters of a failed child's standard error shown in the error
# The longest request line (method, path and query) served; longer gets 400 from aiohttp's
# parser. Its router's cost grows with the square of a path's length (about 4 ms of CPU for an
# 8 kB path of short segments), and no URL of this API needs a tenth of this.
_MAX_REQUEST_LINE = 4096
T = TypeVar("T")


class ServerError(AsynckitError):
    """The local API could not start, or was used in a way it cannot honour.

    The message says what to do, for example when the port asked for is already taken, and
    carries what a child process that failed to start printed.

    Example::

        try:
            api = asynckit.start_server(port=8000)
        except asynckit.ServerError as error:
            print(error)   # port 8000 on 127.0.0.1 is already in use: ...
    """


class _Unchanged(enum.Enum):
    UNCHANGED = "unchanged"

    def __repr__(self) -> str:
        return "unchanged"


UNCHANGED: Final = _Unchanged.UNCHANGED


class _Server(Protocol):
    """What a ``LocalAPI`` drives: a server in a child process, or on an event loop here."""

    @property
    def pid(self) -> int | None: ...

    @property
    def running(self) -> bool: ...

    def command(self, action: str, changes: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run ``action`` (state, configure, reset_stats); return the state after it."""

    def stop(self) -> None: ...


class LocalAPI:
    """A running local API: its URL, its statistics, and knobs to turn while it runs.

    ``start_server()`` and ``serve()`` return one; you do not build it yourself. ``url`` has
    no trailing slash, so ``f"{api.url}/posts/1"`` is a post. ``stats()``, ``reset_stats()`` and
    ``configure()`` may be called from any thread. ``stop()`` stops a server started by
    ``start_server()``; one started by ``serve()`` stops when its ``async with`` block ends.

    Example::

        api = asynckit.start_server(latency=0.2)
        async with aiohttp.ClientSession() as session:
            user = await asynckit.fetch_json(session, f"{api.url}/users/1")
        api.stats()   # {'requests': 1, 'by_status': {200: 1}, 'in_flight': 0, ...}
    """

    def __init__(self, port: int, server: _Server) -> None:
        self._port = port
        self._server = server

    @property
    def url(self) -> str:
        """The base URL, such as ``http://127.0.0.1:54321`` (no trailing slash)."""
        return f"http://{HOST}:{self._port}"

    @property
    def port(self) -> int:
        """The TCP port the server listens on, on 127.0.0.1."""
        return self._port

    @property
    def pid(self) -> int | None:
        """The id of the server's process, or None when it runs in this one (``serve()``)."""
        return self._server.pid

    @property
    def running(self) -> bool:
        """True until the server has stopped (or its process has ended)."""
        return self._server.running

    @property
    def settings(self) -> dict[str, Any]:
        """The current latency, jitter, error_rate, rate_limit and seed, as a dict."""
        settings: dict[str, Any] = self._server.command("state")["settings"]
        return settings

    def stats(self) -> Stats:
        """A snapshot of the requests answered so far, as a new dict.

        ``requests`` counts requests received (those still in flight included), ``by_status``
        the answers by HTTP status, ``in_flight`` those being answered now and
        ``peak_in_flight`` the most at once. After ``stop()`` it gives the final figures.

        Example::

            api.reset_stats()
            urls = [f"{api.url}/posts/{i}" for i in range(1, 11)]
            await asyncio.gather(*(asynckit.fetch(session, url) for url in urls))
            api.stats()["peak_in_flight"]   # 10 when all ten overlapped
        """
        return _stats(self._server.command("state")["stats"])

    def reset_stats(self) -> None:
        """Zero the counts; ``peak_in_flight`` restarts from the requests in flight now.

        Example::

            api.reset_stats()
            api.stats()   # {'requests': 0, 'by_status': {}, 'in_flight': 0, 'peak_in_flight': 0}
        """
        self._server.command("reset_stats")

    def configure(
        self,
        *,
        latency: float | _Unchanged = UNCHANGED,
        jitter: float | _Unchanged = UNCHANGED,
        error_rate: float | _Unchanged = UNCHANGED,
        rate_limit: float | _Unchanged | None = UNCHANGED,
        seed: int | _Unchanged | None = UNCHANGED,
    ) -> None:
        """Change how the server behaves from the next request on; settings not named stay.

        The settings mean what they mean for ``start_server()``. Naming ``seed`` restarts the
        random draws from that seed; ``rate_limit=None`` removes the limit. A bad value raises
        TypeError or ValueError and changes nothing.

        Example::

            api.configure(error_rate=0.2, seed=1)   # one request in five now fails with 503
            api.configure(latency=0.5)              # error_rate stays 0.2
            api.configure(error_rate=0, rate_limit=None)
        """
        given = {
            "latency": latency,
            "jitter": jitter,
            "error_rate": error_rate,
            "rate_limit": rate_limit,
            "seed": seed,
        }
        changes = {name: value for name, value in given.items() if value is not UNCHANGED}
        if changes:
            checked = asdict(Settings(**changes))  # type: ignore[arg-type]  # checks them
            self._server.command("configure", {name: checked[name] for name in changes})

    def stop(self) -> None:
        """Stop the server, and its process if it has one. Calling it again does nothing.

        In-flight requests get half a second to finish; then their connections are closed.
        A server from ``start_server()`` runs in a child process: ``stop()`` ends it and waits
        for it. One from ``serve()`` stops when its ``async with`` block ends instead.

        Example::

            api = asynckit.start_server()
            ...
            api.stop()
        """
        self._server.stop()
        _started.discard(self)

    def __enter__(self) -> LocalAPI:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        try:
            settings = self.settings
        except ServerError:
            return f"<LocalAPI {self.url} ended>"
        defaults = asdict(Settings())
        changed = "".join(
            f" {name}={value!r}" for name, value in settings.items() if value != defaults[name]
        )
        return f"<LocalAPI {self.url}{changed} {'running' if self.running else 'stopped'}>"


def _stats(raw: dict[str, Any]) -> Stats:
    """Statistics as the server sent them over JSON (status codes as text), as a Stats."""
    return {
        "requests": raw["requests"],
        "by_status": {int(status): count for status, count in raw["by_status"].items()},
        "in_flight": raw["in_flight"],
        "peak_in_flight": raw["peak_in_flight"],
    }


# Servers from start_server() that are still running, stopped at interpreter exit.
_started: set[LocalAPI] = set()
_atexit_lock = threading.Lock()
_atexit_registered = False


def _stop_all_at_exit() -> None:
    for api in list(_started):
        api.stop()


def _register_atexit() -> None:
    global _atexit_registered
    with _atexit_lock:
        if not _atexit_registered:
            atexit.register(_stop_all_at_exit)
            _atexit_registered = True


def _check_port(port: object) -> int:
    if port is None:
        return 0
    if isinstance(port, bool) or not isinstance(port, int):
        raise TypeError(
            f"port must be an int or None (for any free port), not {type(port).__name__}"
        )
    if not 0 <= port <= 65535:
        raise ValueError(f"port must be from 0 to 65535 (or None for any free port), got {port}")
    return port


async def _start(app: App, port: int, *, access_log: bool = False) -> tuple[web.AppRunner, int]:
    """Listen on 127.0.0.1:port (0: a free port); return the runner and the port."""
    runner = web.AppRunner(
        app.app,
        access_log=aiohttp.log.access_logger if access_log else None,
        logger=quiet_client_errors(),
        shutdown_timeout=_SHUTDOWN_GRACE,
        max_line_size=_MAX_REQUEST_LINE,
    )
    await runner.setup()
    # The socket is made here, not by aiohttp, so its port is known on every aiohttp version.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if os.name == "posix":  # reuse a port in TIME_WAIT, as aiohttp's own sites do
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
        await web.SockSite(runner, sock, backlog=1024).start()
    except OSError as exc:
        sock.close()
        await runner.cleanup()
        if exc.errno == errno.EADDRINUSE:
            raise ServerError(
                f"port {port} on {HOST} is already in use: pick another port, or leave port out "
                "to get a free one (an API started in an earlier cell may still hold it: call "
                "its .stop())"
            ) from None
        raise ServerError(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}") from None
    bound: int = sock.getsockname()[1]
    return runner, bound


# -- on the caller's event loop: serve() -------------------------------------------------------


class _OnLoop:
    """A server on an event loop of this process; calls from other threads hop onto it."""

    pid: int | None = None

    def __init__(self, app: App, loop: asyncio.AbstractEventLoop) -> None:
        self._app = app
        self._loop = loop
        self._thread = threading.current_thread()
        self._lock = threading.Lock()
        self._running = True

    @property
    def running(self) -> bool:
        return self._running

    def command(self, action: str, changes: dict[str, Any] | None = None) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            if action == "configure":
                self._app.configure(**(changes or {}))
            elif action == "reset_stats":
                self._app.reset_stats()
            return self._app.state()

        return self._in_loop(run)

    def stop(self) -> None:
        raise ServerError(
            "this API was started with `async with asynckit.serve()`: it stops when that "
            "block ends (use asynckit.start_server() for one you stop yourself)"
        )

    def _in_loop(self, function: Callable[[], T]) -> T:
        """Run ``function`` in the server's event loop thread and return what it returns."""
        if threading.current_thread() is self._thread:
            return function()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(function())
            except BaseException as exc:
                future.set_exception(exc)

        with self._lock:
            if not self._running:  # the loop is gone: nothing else touches the app now
                return function()
            self._loop.call_soon_threadsafe(run)
            try:
                return future.result(_ANSWER_TIMEOUT)
            except concurrent.futures.TimeoutError:
                raise ServerError(
                    f"the local API did not answer within {_ANSWER_TIMEOUT:g} s: its event "
                    "loop is blocked"
                ) from None

    def close(self) -> None:
        with self._lock:
            self._running = False


@contextlib.asynccontextmanager
async def serve(
    *,
    port: int | None = None,
    latency: float = 0.0,
    jitter: float = 0.0,
    error_rate: float = 0.0,
    rate_limit: float | None = None,
    seed: int | None = None,
    cors: str | Iterable[str] | None = None,
) -> AsyncIterator[LocalAPI]:
    """Serve the local API on the running asyncio loop for the length of an ``async with``.

    It listens on 127.0.0.1, on ``port`` or a free one; the settings are those of
    ``start_server()``. Leaving the block stops the server (in-flight requests get half a
    second). The server shares this process, its event loop and its interpreter lock with the
    code that calls it: right for a script or a test that wants no child process, wrong for
    measuring a client (use ``start_server()``, which also works under Trio and Curio).

    Example::

        async with asynckit.serve(latency=0.1) as api, aiohttp.ClientSession() as session:
            post = await asynckit.fetch_json(session, f"{api.url}/posts/1")
    """
    settings = Settings(latency, jitter, error_rate, rate_limit, seed)
    port = _check_port(port)
    origins = check_origins(cors)
    library = current_library("asynckit.serve()")
    if library != "asyncio":
        raise ServerError(
            f"asynckit.serve() runs in an asyncio event loop, not {library}: under {library} "
            "use api = asynckit.start_server(), which runs in a process of its own"
        )
    app = App(settings, cors=origins)
    runner, port = await _start(app, port)
    server = _OnLoop(app, asyncio.get_running_loop())
    try:
        yield LocalAPI(port, server)
    finally:
        server.close()
        await runner.cleanup()


# -- in a child process: start_server() --------------------------------------------------------


class _ChildProcess:
    """``python -m asynckit.server --control`` run as a child, and the means to drive it.

    The child reads a secret token from its standard input, then reports its port as one JSON
    line on its standard output. The parent drives it over ``POST /_control`` with the token;
    closing the child's standard input stops it (it prints its final state on the way out), and
    so does the parent's end, however it comes: the pipe closes with the parent.
    """

    def __init__(self, process: subprocess.Popen[bytes], stderr: IO[bytes], token: str) -> None:
        self.process = process
        self.pid: int | None = process.pid
        self.port = 0
        self._stderr = stderr
        self._token = token
        self._lock = threading.Lock()
        self._final: dict[str, Any] | None = None  # the state the child reported as it stopped
        self._stopped = False

    @property
    def running(self) -> bool:
        return not self._stopped and self.process.poll() is None

    def handshake(self, deadline: float) -> None:
        """Give the child its token and learn its port; raise ServerError if it cannot start."""
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(self._token.encode() + b"\n")
            self.process.stdin.flush()
        except BrokenPipeError:  # it ended already: its standard error says why
            pass
        line = self._read_line(deadline)
        try:
            self.port = int(json.loads(line)["port"])
        except (ValueError, KeyError, TypeError):
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(_ANSWER_TIMEOUT)
            raise ServerError(self._failure()) from None

    def _read_line(self, deadline: float) -> bytes:
        """The child's first line of output, or what it printed by the deadline or its end."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        data = b""
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in data:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._kill()
                    raise ServerError(
                        f"the local API did not start within {_START_TIMEOUT:g} s; its "
                        f"process said: {self._tail() or '(nothing)'}"
                    )
                if selector.select(remaining):
                    chunk = os.read(fd, 4096)
                    if not chunk:
                        break
                    data += chunk
        return data

    def _failure(self) -> str:
        """Why the child ended before it listened: its own error line, else its stderr."""
        said = self._tail()
        for line in said.splitlines():
            if line.startswith("error: "):
                return line.removeprefix("error: ")
        return (
            f"the local API's process ended before it started listening (exit code "
            f"{self.process.returncode}); it said:\n{said or '(nothing)'}"
        )

    def _tail(self) -> str:
        self._stderr.seek(0, os.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - _STDERR_TAIL))
        return self._stderr.read().decode(errors="replace").strip()

    def command(self, action: str, changes: dict[str, Any] | None = None) -> dict[str, Any]:
        with self._lock:
            if self._stopped:
                if self._final is None:
                    raise ServerError(self._ended("its process ended without a final report"))
                if action != "state":
                    raise ServerError(
                        "this local API has stopped: start a new one with asynckit.start_server()"
                    )
                return self._final
        body = json.dumps({"action": action, "changes": changes}).encode()
        headers = {TOKEN_HEADER: self._token, "Content-Type": "application/json"}
        connection = http.client.HTTPConnection(HOST, self.port, timeout=_ANSWER_TIMEOUT)
        try:
            connection.request("POST", CONTROL_PATH, body, headers)
            response = connection.getresponse()
            answer = json.loads(response.read())
        except TimeoutError:
            raise ServerError(
                f"the local API at port {self.port} did not answer within "
                f"{_ANSWER_TIMEOUT:g} s: its event loop is blocked"
            ) from None
        except (OSError, http.client.HTTPException, ValueError):
            with contextlib.suppress(subprocess.TimeoutExpired):  # a process ends in a moment
                self.process.wait(_ENDING)
            if self.process.poll() is not None:
                raise ServerError(self._ended("its process ended")) from None
            raise
        finally:
            connection.close()
        if response.status == 400:  # configure() rejected a value
            error = {"TypeError": TypeError}.get(answer.get("type"), ValueError)
            raise error(answer["error"])
        if response.status != 200:
            raise ServerError(f"the local API refused a control call: {answer.get('error')}")
        state: dict[str, Any] = answer
        return state

    def _ended(self, what: str) -> str:
        said = self._tail()
        return (
            f"the local API at port {self.port} is gone: {what} (exit code "
            f"{self.process.poll()}); start a new one with asynckit.start_server()"
            + (f"; it said:\n{said}" if said else "")
        )

    def stop(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            output = b""
            try:
                if self.process.poll() is None:
                    # Closing its standard input tells the child to stop; it prints its final
                    # state on the way out.
                    output, _ = self.process.communicate(timeout=_ANSWER_TIMEOUT)
            except (subprocess.TimeoutExpired, ValueError, OSError):
                pass  # it hangs, or its pipes are closed already: it is killed below
            finally:
                self._kill()
                self._stderr.close()
            lines = output.strip().splitlines()
            with contextlib.suppress(ValueError, IndexError):
                self._final = json.loads(lines[-1])

    def _kill(self) -> None:
        """End the child at once if it still runs, and reap it; close the pipes."""
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(_ANSWER_TIMEOUT)
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold back Ctrl-C (SIGINT) for the length of the block, then deliver it.

    Only while a child is spawned: an interrupt inside ``subprocess.Popen`` would leave a child
    no one holds. Elsewhere in start_server an interrupt ends the child before it propagates.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread receives signals
        return
    received: list[tuple[int, Any]] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append((signum, frame)))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            if callable(previous):
                previous(*received[0])
            elif previous == signal.SIG_DFL:
                raise KeyboardInterrupt


def start_server(
    *,
    port: int | None = None,
    latency: float = 0.0,
    jitter: float = 0.0,
    error_rate: float = 0.0,
    rate_limit: float | None = None,
    seed: int | None = None,
    cors: str | Iterable[str] | None = None,
) -> LocalAPI:
    """Start the local API in a process of its own and return once it is listening.

    It runs ``python -m asynckit.server`` as a child process, listening on 127.0.0.1, on
    ``port`` or a free one, and keeps running across notebook cells, whatever library the
    notebook uses, until ``stop()``, the end of a ``with`` block, or the end of this Python
    process (however it ends: the child never outlives it). Its work does not compete with the
    notebook's for the interpreter lock, so timings measure the client. Use ``serve()`` for a
    server on your own asyncio loop, in this process, instead.

    - ``latency``: seconds added before every answer.
    - ``jitter``: up to that many more seconds, drawn at random for each request.
    - ``error_rate``: probability (0 to 1) of answering 503 instead.
    - ``rate_limit``: requests per second (bursts of as many); past it, 429 with Retry-After.
    - ``seed``: makes the random jitter and failures the same from one run to the next.
    - ``cors``: an origin (``"http://localhost:8888"``) or a list of them whose web pages may
      read the answers; by default no page elsewhere may.

    A request can override them: ``?delay=0.3`` waits that long instead, ``?fail=503`` answers
    that error status. Bad settings raise TypeError or ValueError naming the setting; a port
    already in use, or a child that cannot start, raises ServerError saying why. Interrupting
    the start (Ctrl-C, or a notebook's stop button) leaves no process behind.

    Example::

        api = asynckit.start_server(latency=0.1)
        api.url                      # 'http://127.0.0.1:54321'
        api.stop()
    """
    settings = Settings(latency, jitter, error_rate, rate_limit, seed)
    port = _check_port(port)
    origins = check_origins(cors)
    command = [sys.executable, "-m", "asynckit.server", "--control", "--port", str(port)]
    for option, value in asdict(settings).items():
        if value is not None:
            command += [f"--{option.replace('_', '-')}", repr(value)]
    for origin in sorted(origins):
        command += ["--cors", origin]
    # The child imports this very asynckit, wherever it was imported from.
    root = str(Path(__file__).resolve().parent.parent)
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path else "")}
    deadline = time.monotonic() + _START_TIMEOUT
    stderr = tempfile.TemporaryFile()  # noqa: SIM115 (the child's, closed when it stops)
    child = None
    try:
        with _interrupts_deferred():  # an interrupt held back here arrives as the block ends
            process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                cwd=root,
                env=env,
                start_new_session=True,  # a Ctrl-C meant for the notebook does not reach it
            )
            child = _ChildProcess(process, stderr, secrets.token_urlsafe(32))
        child.handshake(deadline)
    except BaseException:  # a failure, or an interrupt: no process stays behind
        if child is not None:
            child.stop()
        stderr.close()
        raise
    handle = LocalAPI(child.port, child)
    _register_atexit()
    _started.add(handle)
    return handle


# -- python -m asynckit.server ----------------------------------------------------------------


async def _serve_until_stopped(app: App, port: int, access_log: bool, control: bool) -> None:
    if access_log:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    runner, bound = await _start(app, port, access_log=access_log)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows
            loop.add_signal_handler(signum, stopping.set)
    if control:
        print(json.dumps({"port": bound}), flush=True)
        threading.Thread(
            target=_stop_at_end_of_input, args=(loop, stopping), name="stdin", daemon=True
        ).start()
    else:
        print(f"asynckit local API on http://{HOST}:{bound} (press Ctrl-C to stop)", flush=True)
    try:
        await stopping.wait()
    finally:
        await runner.cleanup()
        print(json.dumps(app.state()) if control else "stopped", flush=True)


def _stop_at_end_of_input(loop: asyncio.AbstractEventLoop, stopping: asyncio.Event) -> None:
    """Wait for standard input to close (the parent stopped us, or ended), then stop."""
    with contextlib.suppress(OSError, ValueError):
        while sys.stdin.buffer.read(4096):
            pass
    with contextlib.suppress(RuntimeError):  # the loop has closed already
        loop.call_soon_threadsafe(stopping.set)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the local API until Ctrl-C: ``python -m asynckit.server --port 8000 --latency 0.1``."""
    parser = argparse.ArgumentParser(
        prog="python -m asynckit.server",
        description="Serve asynckit's local JSON API on 127.0.0.1 until Ctrl-C.",
    )
    parser.add_argument("--port", type=int, help="port to listen on (default: a free one)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to answers")
    parser.add_argument("--jitter", type=float, default=0.0, help="up to this many more seconds")
    parser.add_argument(
        "--error-rate", type=float, default=0.0, help="probability (0 to 1) of answering 503"
    )
    parser.add_argument("--rate-limit", type=float, help="requests per second; past it, answer 429")
    parser.add_argument("--seed", type=int, help="seed for the random jitter and failures")
    parser.add_argument(
        "--cors",
        action="append",
        metavar="ORIGIN",
        help="an origin (http://localhost:8888) whose web pages may read the answers; repeatable",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    # For start_server(): read a control token from standard input, report the port as JSON,
    # stop when standard input closes.
    parser.add_argument("--control", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        settings = Settings(args.latency, args.jitter, args.error_rate, args.rate_limit, args.seed)
        port = _check_port(args.port)
        origins = check_origins(args.cors)
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    token = None
    if args.control:
        token = sys.stdin.readline().strip()
        if not token:
            print("error: --control needs a token on standard input", file=sys.stderr)
            return 2
    app = App(settings, cors=origins, control_token=token)
    try:
        asyncio.run(
            _serve_until_stopped(
                app, port, access_log=not (args.quiet or args.control), control=args.control
            )
        )
    except ServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C where signal handlers cannot be installed
        pass
    return 0
