"""Builds the Reflex app: registers every page (decorated with @rx.page) and mounts our API."""

import reflex as rx

import skypanel.pages  # noqa: F401  (imports every page module; each registers itself)
from skypanel.backend.api.http_cache import immutable_assets
from skypanel.backend.api.routes import build_api
from skypanel.backend.integrations.email import delivery_loop
from skypanel.backend.jobs import scheduler_loop
from skypanel.backend.providers.simulated_ssh import simulated_ssh_loop
from skypanel.components.theme import APP_STYLE

app = rx.App(
    style=APP_STYLE,
    api_transformer=[build_api(), immutable_assets],
    head_components=[rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml")],
)

# Every worker runs the loop; messages are claimed with SKIP LOCKED, so each is sent once.
app.register_lifespan_task(delivery_loop)
app.register_lifespan_task(scheduler_loop)
# SSH endpoints of simulated servers: every worker tries, the advisory-lock holder serves them.
app.register_lifespan_task(simulated_ssh_loop)
