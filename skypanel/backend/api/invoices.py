"""GET /api/invoices/{id}.pdf: a document as PDF for a signed-in browser (session cookie).

The cookie is resolved like every Reflex event does; the invoices service checks billing_view in
the document's organization. Anyone else (signed out, another organization's member, a bad id)
gets the same 404, so nobody learns a document exists.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from skypanel.backend.services import auth, invoices
from skypanel.backend.services.errors import PermissionDenied, ServiceError

SESSION_COOKIE = "sp_session"  # state.session.SESSION_COOKIE (not imported: that pulls in Reflex)


def _render(token: str, invoice_id: str, ip: str, user_agent: str) -> tuple[str, bytes] | None:
    actor = auth.resolve_session(token, ip=ip, user_agent=user_agent)
    if actor is None:
        return None
    return invoices.invoice_pdf(actor, invoice_id)


async def invoice_pdf(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE, "")
    ip = request.client.host if request.client else ""
    ua = request.headers.get("user-agent", "")[:400]
    try:
        found = await asyncio.to_thread(_render, token, request.path_params["invoice_id"], ip, ua)
    except PermissionDenied:
        return PlainTextResponse("You do not have access to this organization's billing.", status_code=403)
    except ServiceError:
        found = None
    if found is None:
        return PlainTextResponse("Not found.", status_code=404, headers={"Cache-Control": "no-store"})
    filename, body = found
    return Response(body, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    })


ROUTES = [Route("/api/invoices/{invoice_id}.pdf", invoice_pdf, methods=["GET"])]
