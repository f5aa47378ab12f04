"""admin pages."""
from skypanel.pages.admin import organization_detail, organizations, outbox, overview, plans, providers, servers, settings, suspensions, users  # noqa: F401
from skypanel.pages.admin import payments  # noqa: F401
