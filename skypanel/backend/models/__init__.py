"""All tables; importing this module registers them on SQLModel.metadata (Alembic's target)."""

from .activity import ActivityLog
from .billing import BillingRun, ServerBillingState
from .orgs import Invitation, Membership, Organization, Role
from .platform import EmailMessage, PlatformSetting
from .providers import ProviderAccount
from .servers import OrphanServer, Plan, PlanPrice, ProviderCatalog, Server, ServerCharge, SshKey
from .simulated import SimulatedAction, SimulatedInstance
from .users import AuthThrottle, PasswordResetToken, PendingLogin, RateLimitHit, RecoveryCode, User, UserSession
from .wallet import LedgerEntry, Wallet

__all__ = [
    "ActivityLog", "AuthThrottle", "BillingRun", "ServerBillingState", "EmailMessage", "Invitation", "LedgerEntry", "Membership", "Organization",
    "OrphanServer", "PasswordResetToken", "PendingLogin", "Plan", "PlanPrice", "ProviderCatalog", "Server", "ServerCharge",
    "SimulatedAction", "SimulatedInstance", "SshKey", "PlatformSetting", "ProviderAccount", "RateLimitHit", "RecoveryCode", "Role", "User",
    "UserSession", "Wallet",
]
