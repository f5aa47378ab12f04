"""HTTP routes outside Reflex's own (mounted through api_transformer): health now; /api/v1 later."""

from __future__ import annotations

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from skypanel.backend.api import invoices as invoice_routes
from skypanel.backend.db import get_engine


async def health(request: Request) -> JSONResponse:
    """Liveness plus a database round trip, for load balancers and `make run`'s wait."""
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        return JSONResponse({"status": "ok", "database": "ok"})
    except Exception as exc:  # reported, not raised: the probe wants a status
        return JSONResponse({"status": "degraded", "database": type(exc).__name__}, status_code=503)


def build_api() -> Starlette:
    return Starlette(routes=[Route("/api/health", health), *invoice_routes.ROUTES])
