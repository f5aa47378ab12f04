"""Demo data for `make run` and the first platform admin for a real install."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import select

from skypanel.backend.db import session_scope
from skypanel.backend.models import User
from skypanel.backend.security import hash_password
from skypanel.backend.services import activity, auth, orgs, wallet
from skypanel.backend.services.context import Actor

DEMO_CREDIT = Decimal("250.00")
DEMO_REGIONS = [{"id": "sim-nyc", "label": "New York"}, {"id": "sim-fra", "label": "Frankfurt"},
                {"id": "sim-lon", "label": "London"}]
# (provider plan, retail name, category, markup per month, backup upcharge per month)
DEMO_PLANS = [("sim-1c-1g", "Nano", "standard", "2.00", "1.00"),
              ("sim-1c-2g", "Micro", "standard", "4.00", "2.40"),
              ("sim-2c-4g", "Small", "standard", "8.00", "4.80"),
              ("sim-4c-8g", "Medium", "memory", "14.00", "9.60")]


def _new_user(session, *, email: str, name: str, password: str, admin: bool, org_name: str) -> User:
    auth.validate_password_strength(password)
    user = User(email=email.strip().lower(), name=name, password_hash=hash_password(password),
                is_platform_admin=admin)
    session.add(user)
    session.flush()
    org = orgs._create_organization(session, user, org_name, personal=True, actor=Actor(user_id=user.id, ip="seed"))
    user.active_organization_id = org.id
    return user


def seed_demo(*, admin: tuple[str, str], customer: tuple[str, str], password: str) -> bool:
    """Create a platform admin and a demo customer whose organization has a funded wallet, once."""
    with session_scope() as s:
        if s.exec(select(User).where(User.email == customer[0])).first():
            return False
        system = Actor.system()
        if not s.exec(select(User).where(User.email == admin[0])).first():
            _new_user(s, email=admin[0], name=admin[1], password=password, admin=True, org_name="Platform Operations")
        user = _new_user(s, email=customer[0], name=customer[1], password=password, admin=False,
                         org_name="Demo Company")
        wallet._post(s, user.active_organization_id, DEMO_CREDIT, "adjustment", actor=system,
                     reference="demo-seed", description="Demo credit")
        activity.record(s, system, "platform.demo_seeded", summary="Demo admin and customer created")
        admin_id = s.exec(select(User.id).where(User.email == admin[0])).one()
    _seed_cloud(Actor(user_id=admin_id, is_platform_admin=True, ip="seed"))
    return True


def _seed_cloud(admin: Actor) -> None:
    """The built-in simulated provider with three regions and four retail plans, so a fresh
    machine can create servers at once (marked "Simulated" everywhere in the UI)."""
    import asyncio

    from skypanel.backend.services import catalog, plans, provider_accounts

    account = provider_accounts.add_account(admin, kind="simulated", name="Simulated cloud", token="")
    provider_accounts.update_account(admin, account["id"], allowed_regions=DEMO_REGIONS)
    asyncio.run(catalog.refresh(account["id"]))
    regions = [r["id"] for r in DEMO_REGIONS]
    for plan_id, name, category, markup, backup in DEMO_PLANS:
        plans.create_plan(admin, provider_account_id=account["id"], provider_plan_id=plan_id, name=name,
                          category=category, markup=markup, backup_price=backup, regions=regions)


def user_exists(email: str) -> bool:
    with session_scope() as s:
        return s.exec(select(User).where(User.email == email.strip().lower())).first() is not None


def create_admin(*, email: str, name: str, password: str) -> None:
    """Create a platform admin, or promote the existing account with that email."""
    email = auth._clean_email(email)
    name = auth._clean_name(name)
    with session_scope() as s:
        user = s.exec(select(User).where(User.email == email)).first()
        if user:
            user.is_platform_admin = True
            activity.record(s, Actor.system(), "admin.promoted", entity_type="user", entity_id=user.id,
                            summary=f"{email} made a platform admin from the command line")
            return
        user = _new_user(s, email=email, name=name, password=password, admin=True, org_name=f"{name}'s organization")
        activity.record(s, Actor.system(), "admin.created", entity_type="user", entity_id=user.id,
                        summary=f"Platform admin {email} created from the command line")
