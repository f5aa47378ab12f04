"""admin pages."""
from skypanel.pages.admin import organization_detail, organizations, outbox, overview, plans, providers, settings, users  # noqa: F401
