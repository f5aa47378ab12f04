"""admin pages."""
from skypanel.pages.admin import organization_detail, organizations, outbox, overview, plans, providers, servers, settings, users  # noqa: F401
