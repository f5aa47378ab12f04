"""admin pages."""
from skypanel.pages.admin import billing, organization_detail, organizations, outbox, overview, plans, providers, servers, settings, users  # noqa: F401
