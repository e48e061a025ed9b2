"""The wallboard's web side (Starlette): the page, its event stream and a JSON snapshot.

``GET /`` the page (one static file, no CDN: charts are inline SVG drawn by its script);
``GET /events`` server-sent events, one ``data:`` line with the whole view each time it changes
(a board of a few dozen queues and agents is a few KB, so no diffing); ``GET /api/view`` the same
view once (scripts, tests); ``GET /healthz``.
"""

from __future__ import annotations

import asyncio
import contextlib
from importlib import resources
from typing import AsyncIterator

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tools.wallboard.feed import Feed

#: How often the stream checks for a new view, and sends a comment to keep proxies from
#: closing an idle stream.
PUSH_INTERVAL_S = 0.5
KEEPALIVE_S = 15.0


def page_html() -> str:
    return resources.files("tools.wallboard").joinpath("page.html").read_text(encoding="utf-8")


def create_app(feed: Feed, start_feed: bool = True) -> Starlette:
    html = page_html()

    async def index(_: Request) -> Response:
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    async def view(_: Request) -> Response:
        return JSONResponse(feed.view()[1])

    async def health(_: Request) -> Response:
        return JSONResponse({"ok": True, "records": feed.board.records})

    async def stream(request: Request) -> AsyncIterator[bytes]:
        sent = -1
        idle = 0.0
        while not await request.is_disconnected():
            version, data = feed.view()
            if version != sent:
                sent = version
                idle = 0.0
                yield b"data: " + orjson.dumps(data) + b"\n\n"
            elif idle >= KEEPALIVE_S:
                idle = 0.0
                yield b": keep-alive\n\n"
            await asyncio.sleep(PUSH_INTERVAL_S)
            idle += PUSH_INTERVAL_S

    async def events(request: Request) -> Response:
        return StreamingResponse(stream(request), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette):
        if start_feed:
            feed.start()
        try:
            yield
        finally:
            feed.stop()

    return Starlette(routes=[Route("/", index), Route("/events", events),
                             Route("/api/view", view), Route("/healthz", health)],
                     lifespan=lifespan)
