"""portal pages."""
from skypanel.pages.portal import dashboard  # noqa: F401
from skypanel.pages.portal import invitation, organization_detail, organizations, settings  # noqa: F401
from skypanel.pages.portal import activity, billing  # noqa: F401
from skypanel.pages.portal import ssh_keys  # noqa: F401
from skypanel.pages.portal import server_create, servers  # noqa: F401
from skypanel.pages.portal import server_detail, server_console  # noqa: F401
from skypanel.pages.portal import topup_return  # noqa: F401
from skypanel.pages.portal import invoices  # noqa: F401
