"""HTTP routes outside Reflex's own (mounted through api_transformer): health, the PayPal webhook, invoice PDFs,
the console's WebSocket (/ws/console/{server_id}) and, without PayPal credentials outside production, the local PayPal stand-in."""

from __future__ import annotations

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from skypanel.backend.api import console as console_routes
from skypanel.backend.api import invoices as invoice_routes
from skypanel.backend.config import get_settings
from skypanel.backend.db import get_engine

WEBHOOK_MAX_BYTES = 256 * 1024


async def health(request: Request) -> JSONResponse:
    """Liveness plus a database round trip, for load balancers and `make run`'s wait."""
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        return JSONResponse({"status": "ok", "database": "ok"})
    except Exception as exc:  # reported, not raised: the probe wants a status
        return JSONResponse({"status": "degraded", "database": type(exc).__name__}, status_code=503)


async def paypal_webhook(request: Request) -> JSONResponse:
    """PayPal webhook deliveries: verified with PayPal, acted on once (services/topups.py)."""
    from skypanel.backend.services import topups

    body = await request.body()
    if len(body) > WEBHOOK_MAX_BYTES:
        return JSONResponse({"error": "too large"}, status_code=413)
    status, note = await topups.handle_webhook(dict(request.headers), body)
    return JSONResponse({"result": note}, status_code=status)


def build_api() -> Starlette:
    routes = [Route("/api/health", health), Route("/api/paypal/webhook", paypal_webhook, methods=["POST"]),
              *invoice_routes.ROUTES, *console_routes.ROUTES]
    if get_settings().paypal_standin:  # no PayPal credentials, not production: the local stand-in
        from skypanel.backend.integrations.paypal import STANDIN_PREFIX, standin

        state = standin.StandInState()
        state.webhook_url = get_settings().public_url.rstrip("/") + "/api/paypal/webhook"
        routes.append(Mount(STANDIN_PREFIX, app=standin.create_app(state)))
    return Starlette(routes=routes)
