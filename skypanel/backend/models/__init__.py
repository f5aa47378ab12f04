"""All tables; importing this module registers them on SQLModel.metadata (Alembic's target)."""

from .activity import ActivityLog
from .billing import BillingRun, ServerBillingState
from .console import ConsoleSession, ConsoleTicket
from .dunning import DunningState
from .invoices import BillingProfile, Invoice, InvoiceCounter
from .orgs import Invitation, Membership, Organization, Role
from .payments import Payment, PaymentFlag, PaymentRefund, PayPalWebhookEvent
from .platform import EmailMessage, PlatformSetting
from .providers import ProviderAccount
from .servers import OrphanServer, Plan, PlanPrice, ProviderCatalog, Server, ServerCharge, SshKey
from .simulated import SimulatedAction, SimulatedInstance
from .users import AuthThrottle, PasswordResetToken, PendingLogin, RateLimitHit, RecoveryCode, User, UserSession
from .wallet import LedgerEntry, Wallet

__all__ = [
    "ActivityLog", "AuthThrottle", "BillingProfile", "BillingRun", "ConsoleSession", "ConsoleTicket", "DunningState", "EmailMessage", "Invitation",
    "Invoice", "InvoiceCounter", "LedgerEntry", "Membership", "Organization", "OrphanServer", "PasswordResetToken",
    "Payment", "PaymentFlag", "PaymentRefund", "PayPalWebhookEvent", "PendingLogin", "Plan", "PlanPrice",
    "ProviderCatalog", "Server", "ServerBillingState", "ServerCharge",
    "SimulatedAction", "SimulatedInstance", "SshKey", "PlatformSetting", "ProviderAccount", "RateLimitHit", "RecoveryCode", "Role", "User",
    "UserSession", "Wallet",
]
