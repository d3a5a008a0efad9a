"""The local API server: start it in your event loop, in a background thread, or in a terminal.

It serves the bundled posts, comments, albums, todos and users as JSON on 127.0.0.1, like the
public jsonplaceholder service but on your machine, with latency, random failures and a rate
limit you choose. Three ways to run it:

- ``async with asynckit.serve(latency=0.1) as api:`` inside a running asyncio loop;
- ``api = asynckit.start_server(latency=0.1)`` in a background thread, for notebooks (it works
  whatever library the notebook uses: asyncio, Trio or Curio);
- ``python -m asynckit.server --latency 0.1`` in a terminal, until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import concurrent.futures
import contextlib
import enum
import errno
import logging
import signal
import sys
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict
from types import TracebackType
from typing import Any, Final, TypeVar

import aiohttp.log
from aiohttp import web

from ._api import API, Settings, Stats, quiet_client_errors
from ._errors import AsynckitError
from ._instrument import current_library

__all__ = ["LocalAPI", "ServerError", "main", "serve", "start_server"]

HOST: Final = "127.0.0.1"
_SHUTDOWN_GRACE = 0.5  # seconds in-flight requests get to finish when a server stops
_THREAD_TIMEOUT = 10.0  # seconds to wait for the server thread to start, stop or answer
T = TypeVar("T")


class ServerError(AsynckitError):
    """The local API could not start, or was used in a way it cannot honour.

    The message says what to do, for example when the port asked for is already taken.

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

    def __init__(
        self,
        api: API,
        port: int,
        loop: asyncio.AbstractEventLoop,
        loop_thread: threading.Thread,
        stop: Callable[[], None] | None,
    ) -> None:
        self._api = api
        self._port = port
        self._loop = loop
        self._loop_thread = loop_thread
        self._stop = stop  # None: serve() owns this server and stops it at the end of its block
        self._lock = threading.Lock()
        self._running = True

    @property
    def url(self) -> str:
        """The base URL, such as ``http://127.0.0.1:54321`` (no trailing slash)."""
        return f"http://{HOST}:{self._port}"

    @property
    def port(self) -> int:
        """The TCP port the server listens on, on 127.0.0.1."""
        return self._port

    @property
    def running(self) -> bool:
        """True until the server has stopped."""
        return self._running

    @property
    def settings(self) -> dict[str, Any]:
        """The current latency, jitter, error_rate, rate_limit and seed, as a dict."""
        return asdict(self._in_loop(lambda: self._api.settings))

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
        return self._in_loop(self._api.stats)

    def reset_stats(self) -> None:
        """Zero the counts; ``peak_in_flight`` restarts from the requests in flight now.

        Example::

            api.reset_stats()
            api.stats()   # {'requests': 0, 'by_status': {}, 'in_flight': 0, 'peak_in_flight': 0}
        """
        self._in_loop(self._api.reset_stats)

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
            self._in_loop(lambda: self._api.configure(**changes))

    def stop(self) -> None:
        """Stop the server: close its port and end its thread. Calling it again does nothing.

        In-flight requests get half a second to finish; then their connections are closed.
        Only for a server from ``start_server()``: one from ``serve()`` stops when its
        ``async with`` block ends.

        Example::

            api = asynckit.start_server()
            ...
            api.stop()
        """
        if self._stop is None:
            raise ServerError(
                "this API was started with `async with asynckit.serve()`: it stops when that "
                "block ends (use asynckit.start_server() for one you stop yourself)"
            )
        if threading.current_thread() is self._loop_thread:
            raise ServerError("stop() cannot be called from the server's own thread")
        with self._lock:
            if self._running:
                self._running = False
                self._stop()
        self._loop_thread.join(_THREAD_TIMEOUT)
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
        defaults = asdict(Settings())
        settings = asdict(self._api.settings)
        changed = "".join(
            f" {name}={value!r}" for name, value in settings.items() if value != defaults[name]
        )
        return f"<LocalAPI {self.url}{changed} {'running' if self._running else 'stopped'}>"

    def _in_loop(self, function: Callable[[], T]) -> T:
        """Run ``function`` in the server's event loop thread and return what it returns."""
        if threading.current_thread() is self._loop_thread:
            return function()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(function())
            except BaseException as exc:
                future.set_exception(exc)

        with self._lock:
            if not self._running:  # the loop is gone: nothing else touches the API now
                return function()
            self._loop.call_soon_threadsafe(run)
            try:
                return future.result(_THREAD_TIMEOUT)
            except concurrent.futures.TimeoutError:
                raise ServerError(
                    f"the local API at {self.url} did not answer within {_THREAD_TIMEOUT:g} s: "
                    "its event loop is blocked"
                ) from None


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


async def _start(api: API, port: int, *, access_log: bool = False) -> tuple[web.AppRunner, int]:
    """Listen on 127.0.0.1:port (0: a free port); return the runner and the port."""
    runner = web.AppRunner(
        api.app,
        access_log=aiohttp.log.access_logger if access_log else None,
        logger=quiet_client_errors(),
        shutdown_timeout=_SHUTDOWN_GRACE,
    )
    await runner.setup()
    site = web.TCPSite(runner, HOST, port, backlog=1024)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        if exc.errno == errno.EADDRINUSE:
            raise ServerError(
                f"port {port} on {HOST} is already in use: pick another port, or leave port out "
                "to get a free one (an API started in an earlier cell may still hold it: call "
                "its .stop())"
            ) from None
        raise ServerError(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}") from None
    return runner, site.port


@contextlib.asynccontextmanager
async def serve(
    *,
    port: int | None = None,
    latency: float = 0.0,
    jitter: float = 0.0,
    error_rate: float = 0.0,
    rate_limit: float | None = None,
    seed: int | None = None,
) -> AsyncIterator[LocalAPI]:
    """Serve the local API in the running asyncio loop for the length of an ``async with``.

    It listens on 127.0.0.1, on ``port`` or a free one; the settings are those of
    ``start_server()``. Leaving the block stops the server (in-flight requests get half a
    second). It needs asyncio: under Trio or Curio, use ``start_server()``.

    Example::

        async with asynckit.serve(latency=0.1) as api, aiohttp.ClientSession() as session:
            post = await asynckit.fetch_json(session, f"{api.url}/posts/1")
    """
    settings = Settings(latency, jitter, error_rate, rate_limit, seed)
    port = _check_port(port)
    library = current_library("asynckit.serve()")
    if library != "asyncio":
        raise ServerError(
            f"asynckit.serve() runs in an asyncio event loop, not {library}: under {library} "
            "use api = asynckit.start_server(), which runs in a thread of its own"
        )
    api = API(settings)
    runner, port = await _start(api, port)
    handle = LocalAPI(api, port, asyncio.get_running_loop(), threading.current_thread(), None)
    try:
        yield handle
    finally:
        handle._running = False
        await runner.cleanup()


def start_server(
    *,
    port: int | None = None,
    latency: float = 0.0,
    jitter: float = 0.0,
    error_rate: float = 0.0,
    rate_limit: float | None = None,
    seed: int | None = None,
) -> LocalAPI:
    """Start the local API in a background thread and return once it is listening.

    It listens on 127.0.0.1, on ``port`` or a free one, and keeps running across notebook
    cells, whatever library the notebook uses (it has its own event loop), until ``stop()``
    or the end of the Python process.

    - ``latency``: seconds added before every answer.
    - ``jitter``: up to that many more seconds, drawn at random for each request.
    - ``error_rate``: probability (0 to 1) of answering 503 instead.
    - ``rate_limit``: requests per second (bursts of as many); past it, 429 with Retry-After.
    - ``seed``: makes the random jitter and failures the same from one run to the next.

    A request can override them: ``?delay=0.3`` waits that long instead, ``?fail=503`` answers
    that error status. Bad settings raise TypeError or ValueError naming the setting; a port
    already in use raises ServerError.

    Example::

        api = asynckit.start_server(latency=0.1)
        api.url                      # 'http://127.0.0.1:54321'
        api.stop()
    """
    settings = Settings(latency, jitter, error_rate, rate_limit, seed)
    port = _check_port(port)
    api = API(settings)
    started: concurrent.futures.Future[tuple[asyncio.AbstractEventLoop, asyncio.Event, int]]
    started = concurrent.futures.Future()

    async def run() -> None:
        try:
            runner, bound = await _start(api, port)
        except BaseException as exc:
            started.set_exception(exc)
            return
        stopping = asyncio.Event()
        started.set_result((asyncio.get_running_loop(), stopping, bound))
        try:
            await stopping.wait()
        finally:
            await runner.cleanup()

    thread = threading.Thread(
        target=asyncio.run, args=(run(),), name="asynckit-server", daemon=True
    )
    thread.start()
    try:
        loop, stopping, bound = started.result(_THREAD_TIMEOUT)
    except concurrent.futures.TimeoutError:
        raise ServerError(f"the local API did not start within {_THREAD_TIMEOUT:g} s") from None
    thread.name = f"asynckit-server-{bound}"

    def stop() -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed already
            loop.call_soon_threadsafe(stopping.set)

    handle = LocalAPI(api, bound, loop, thread, stop)
    _register_atexit()
    _started.add(handle)
    return handle


# -- python -m asynckit.server ----------------------------------------------------------------


async def _serve_until_signal(settings: Settings, port: int, access_log: bool) -> None:
    if access_log:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    runner, bound = await _start(API(settings), port, access_log=access_log)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows
            loop.add_signal_handler(signum, stopping.set)
    print(f"asynckit local API on http://{HOST}:{bound} (press Ctrl-C to stop)", flush=True)
    try:
        await stopping.wait()
    finally:
        await runner.cleanup()
        print("stopped", flush=True)


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
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    args = parser.parse_args(argv)
    try:
        settings = Settings(args.latency, args.jitter, args.error_rate, args.rate_limit, args.seed)
        port = _check_port(args.port)
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    try:
        asyncio.run(_serve_until_signal(settings, port, access_log=not args.quiet))
    except ServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C where signal handlers cannot be installed
        pass
    return 0
