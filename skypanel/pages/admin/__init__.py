"""admin pages."""
from skypanel.pages.admin import billing, organization_detail, organizations, outbox, overview, payments, plans, providers  # noqa: F401
from skypanel.pages.admin import servers, settings, suspensions, users  # noqa: F401
