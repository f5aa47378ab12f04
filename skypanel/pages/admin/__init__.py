"""admin pages."""
from skypanel.pages.admin import organization_detail, organizations, outbox, overview, plans, providers, servers, settings, suspensions, users  # noqa: F401
