"""Tracing aiohttp: a TraceConfig that records each request of a session as spans."""

from __future__ import annotations

import asyncio
from time import perf_counter
from types import SimpleNamespace
from typing import Any

import aiohttp

from ._library import error_name
from ._timeline import active_recorder

__all__ = ["trace_config"]


def trace_config() -> aiohttp.TraceConfig:
    """An ``aiohttp.TraceConfig`` that records every request of a session in the active Timeline.

    Give it to any session, ``aiohttp.ClientSession(trace_configs=[asynckit.trace_config()])``,
    and each request made inside a Timeline (or a ``%%timeline`` cell) is recorded in the row
    of the task that made it: a span of kind ``"request"`` labelled with the method and path
    (as sent, percent-encoded), from the moment a connection is in hand until the response's
    headers arrive, whose detail gives the status and whether the connection was new or reused
    from the pool; and, when every connection of the pool was busy, a span of kind ``"wait"``
    just before it, for the time spent queueing for one. A request that raises records the
    exception's type name, and an error status (400 and up) is marked failed too
    (``error="HTTP 503"``). Outside a Timeline it records nothing. It patches nothing: it only
    listens to the signals aiohttp sends to trace configs, so it works with any session,
    against any server.

    Reading the body (``await response.json()``) comes after the headers and is not part of
    the request span; wrap it in ``asynckit.span(...)`` to see it. A request cancelled before
    its headers arrived is not recorded.

    Example::

        async with aiohttp.ClientSession(trace_configs=[asynckit.trace_config()]) as session:
            with asynckit.Timeline() as tl:
                await asyncio.gather(*(session.get(f"{api.url}/posts/{i}") for i in range(5)))
        tl   # five "request" bars, one row per task
    """
    config = aiohttp.TraceConfig()
    config.on_request_start.append(_request_start)
    config.on_connection_queued_start.append(_queued_start)
    config.on_connection_queued_end.append(_queued_end)
    config.on_connection_create_end.append(_created)
    config.on_connection_reuseconn.append(_reused)
    config.on_request_end.append(_request_end)
    config.on_request_exception.append(_request_exception)
    return config


# Each callback gets the session, this request's context (a SimpleNamespace aiohttp makes for
# every request and trace config) and the signal's parameters. The context carries what the
# later signals need: the recorder, the row, and the times seen so far.


async def _request_start(session: aiohttp.ClientSession, ctx: SimpleNamespace, params: Any) -> None:
    recorder = active_recorder()
    ctx.recorder = recorder
    if recorder is None:
        return
    try:
        task: object | None = asyncio.current_task()
    except RuntimeError:
        task = None
    ctx.row = recorder.row(task)
    ctx.label = f"{params.method} {_path(params.url)}"
    ctx.start = perf_counter()
    ctx.queued = None
    ctx.connection = None


async def _queued_start(session: aiohttp.ClientSession, ctx: SimpleNamespace, params: Any) -> None:
    if getattr(ctx, "recorder", None) is not None:
        ctx.queued = perf_counter()


async def _queued_end(session: aiohttp.ClientSession, ctx: SimpleNamespace, params: Any) -> None:
    recorder = getattr(ctx, "recorder", None)
    if recorder is None or ctx.queued is None:
        return
    now = perf_counter()
    recorder.add("pool wait", "wait", ctx.queued, now, ctx.row)
    ctx.start = now  # the request itself begins once a connection is free


async def _created(session: aiohttp.ClientSession, ctx: SimpleNamespace, params: Any) -> None:
    if getattr(ctx, "recorder", None) is not None:
        ctx.connection = "new connection"


async def _reused(session: aiohttp.ClientSession, ctx: SimpleNamespace, params: Any) -> None:
    if getattr(ctx, "recorder", None) is not None:
        ctx.connection = "reused connection"


async def _request_end(session: aiohttp.ClientSession, ctx: SimpleNamespace, params: Any) -> None:
    recorder = getattr(ctx, "recorder", None)
    if recorder is None:
        return
    status = params.response.status
    detail = f"{status}, {ctx.connection}" if ctx.connection else str(status)
    error = f"HTTP {status}" if status >= 400 else None
    recorder.add(ctx.label, "request", ctx.start, perf_counter(), ctx.row, error, detail)


async def _request_exception(
    session: aiohttp.ClientSession, ctx: SimpleNamespace, params: Any
) -> None:
    recorder = getattr(ctx, "recorder", None)
    if recorder is None:
        return
    error = error_name(params.exception)
    recorder.add(ctx.label, "request", ctx.start, perf_counter(), ctx.row, error, ctx.connection)


def _path(url: Any) -> str:
    """The path and query of a yarl URL as they are sent (percent-encoded, as in the server's
    log), or the URL itself when it has no path. Decoding them would cost the request more
    than all the rest of its recording."""
    path = str(getattr(url, "raw_path_qs", "") or "")
    return path or str(url)
