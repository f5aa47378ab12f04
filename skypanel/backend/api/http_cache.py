"""Browser caching for the compiled frontend.

Vite names every file under `/assets/` after a hash of its content, so a name never changes its
meaning: the browser may keep it for a year without asking again. Without this the static server
answers each of a page's ~60 modules with a conditional request (304) on every full page load,
which cost about half a second per load. HTML pages keep the default (revalidated each time), so
a new deploy is picked up at once.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ASSET_PREFIX = "/assets/"
IMMUTABLE = (b"cache-control", b"public, max-age=31536000, immutable")


def immutable_assets(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: mark successful responses for hashed `/assets/` files as immutable."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith(ASSET_PREFIX):
            await app(scope, receive, send)
            return

        async def send_with_cache(message: Message) -> None:
            if message["type"] == "http.response.start" and message.get("status") in (200, 304):
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                message = {**message, "headers": [*headers, IMMUTABLE]}
            await send(message)

        await app(scope, receive, send_with_cache)

    return wrapped
