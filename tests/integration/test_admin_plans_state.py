"""/admin/plans through Reflex's own event processing (tests/integration/reflex_client.py): an admin
creates, edits, deactivates and deletes plans and renames categories; a customer calling the same
handlers straight from a browser is refused and changes nothing; no provider token travels."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import select

from skypanel.backend.db import session_scope
from skypanel.backend.models import Plan, ProviderAccount
from skypanel.backend.services import auth, plans
from skypanel.backend.services import provider_accounts as pa
from skypanel.state.admin_plans import AdminPlansState
from skypanel.state.session import SessionState

from .factories import PASSWORD, make_user, personal_org
from .reflex_client import Client, register_pages
from .test_bad_input import changed, snapshot
from .test_plans import add_server, seed_catalog

TOKEN = "lin-tok-" + "5tate7e5" * 4 + "Zq8W"
S = AdminPlansState


@pytest.fixture(scope="module", autouse=True)
def _pages_registered():
    register_pages()


@pytest.fixture()
def w(db):
    admin_id, admin = make_user("root@plans-ui.test", "Rita Root", admin=True)
    cust_id, customer = make_user("cust@plans-ui.test", "Carl Customer")
    account = pa.add_account(admin, kind="linode", name="Linode main", token=TOKEN,
                             base_url="http://127.0.0.1:9/v4")["id"]
    pa.update_account(admin, account, allowed_regions=[{"id": "eu-west", "label": "London"},
                                                       {"id": "us-east", "label": "New York"}])
    seed_catalog(account)
    tokens = {who: auth.login(email=email, password=PASSWORD, ip=ip, user_agent="pytest-state-client")["session_token"]
              for who, email, ip in (("admin", "root@plans-ui.test", "10.61.0.1"),
                                     ("customer", "cust@plans-ui.test", "10.61.0.2"))}
    with session_scope() as s:
        token_enc = s.get(ProviderAccount, uuid.UUID(account)).token_enc
    return {"admin": admin, "customer": customer, "account": account, "org": str(personal_org(cust_id)),
            "tokens": tokens, "token_enc": token_enc}


async def tab(w, who: str) -> Client:
    client = Client(w["tokens"][who], ip="10.61.0.1" if who == "admin" else "10.61.0.2")
    await client.open("/admin/plans", "/admin/plans")
    await client.call(SessionState, "require_admin")
    await client.call(S, "load")
    return client


async def state(client: Client) -> AdminPlansState:
    return await client.root.get_state(S)


async def test_admin_creates_a_plan_from_the_catalog(w):
    client = await tab(w, "admin")
    st = await state(client)
    assert st.rows == [] and [a["name"] for a in st.accounts] == ["Linode main"]

    await client.call(S, "open_new")
    st = await state(client)
    assert st.dialog_open and st.dialog_mode == "new" and st.f_account == w["account"]
    assert [p["id"] for p in st.catalog_plans] == ["g6-standard-1", "g6-standard-2"]
    assert st.catalog_plans[0]["text"] == "Linode 2GB — 1 vCPU · 2 GB RAM · 50 GB disk · 2 TB transfer — $12.00/mo"
    assert st.catalog_loaded and not st.catalog_stale
    assert st.region_options == []  # no provider plan chosen yet

    await client.call(S, "set_f_plan", value="g6-standard-2")  # sold in New York only
    st = await state(client)
    assert st.f_base == "24" and st.f_name == "Linode 4GB" and st.f_regions == ["us-east"]
    assert [r["id"] for r in st.region_options] == ["us-east"]
    await client.call(S, "set_f_plan", value="g6-standard-1")
    st = await state(client)
    assert st.f_base == "12" and st.f_regions == ["eu-west", "us-east"]
    assert st.f_name == "Linode 4GB"  # a name already typed (or prefilled) is kept
    await client.call(S, "toggle_region", region_id="eu-west", checked=False)
    await client.call(S, "toggle_region", region_id="ap-south", checked=True)  # not allowed: ignored
    await client.call(S, "set_f_markup", value="3")
    await client.call(S, "set_f_backup", value="2")
    await client.call(S, "set_f_category", value="cpu")
    st = await state(client)
    assert st.f_regions == ["us-east"]
    assert st.preview == {"ok": "yes", "monthly": "$15.00", "hourly": "$0.0205", "backup_hourly": "$0.0027",
                          "margin": "20.0% margin"}

    sent = await client.call(S, "save", form_data={"name": "Cloud 2", "base_price": "12", "markup": "3",
                                                   "backup_price": "2", "is_active": "on"})
    assert "Created Cloud 2 at $15.00/mo ($0.0205/h)." in sent
    st = await state(client)
    assert not st.dialog_open and len(st.rows) == 1
    row = st.rows[0]
    assert (row["name"], row["monthly"], row["hourly"], row["base"], row["markup"], row["backup"]) == \
        ("Cloud 2", "$15.00", "$0.0205", "$12.00", "$3.00", "$2.00")
    assert row["category_label"] == "Dedicated CPU" and row["regions"] == [
        {"id": "us-east", "label": "New York", "allowed": True}]
    assert row["specs"] == "1 vCPU · 2 GB RAM · 50 GB disk · 2 TB transfer"

    # Edit: a new price is scheduled for the next hour; the table shows it as pending.
    await client.call(S, "open_edit", plan_id=row["id"])
    st = await state(client)
    assert (st.f_name, st.f_base, st.f_markup, st.f_backup, st.f_regions) == ("Cloud 2", "12", "3", "2", ["us-east"])
    sent = await client.call(S, "save", form_data={"name": "Cloud 2", "base_price": "12", "markup": "4.5",
                                                   "backup_price": "2", "display_order": "3"})
    assert "The new price applies to billing hours from" in sent
    row = (await state(client)).rows[0]
    assert row["monthly"] == "$16.50" and row["pending"].startswith("From ") and row["pending"].endswith(": $16.50/mo")

    # Refused input stays in the dialog with the service's message.
    await client.call(S, "open_edit", plan_id=row["id"])
    await client.call(S, "save", form_data={"name": "Cloud 2", "base_price": "12", "markup": "-1",
                                            "backup_price": "2", "display_order": "3"})
    st = await state(client)
    assert st.dialog_open and "below the provider's cost" in st.dialog_error

    # Deactivate, then try to delete while a server uses it.
    sent = await client.call(S, "set_active", plan_id=row["id"], value=False)
    assert "no longer offered" in sent and (await state(client)).rows[0]["is_active"] is False
    add_server({"org": w["org"]}, row["id"])
    sent = await client.call(S, "delete", plan_id=row["id"])
    assert "cannot be deleted" in sent and len((await state(client)).rows) == 1

    sent = await client.call(S, "save_names", form_data={f"category_{c}": n for c, n in (
        ("standard", "Basic"), ("cpu", "Turbo"), ("memory", "RAM heavy"), ("storage", "Disk heavy"), ("gpu", "GPU"))})
    assert "Category names saved" in sent
    assert (await state(client)).rows[0]["category_label"] == "Turbo"

    everything = client.everything_sent()
    assert TOKEN not in everything and TOKEN[:-4] not in everything
    assert w["token_enc"][:40] not in everything


async def test_filters_narrow_the_table(w):
    plans.create_plan(w["admin"], provider_account_id=w["account"], provider_plan_id="g6-standard-1", name="A",
                      category="standard", markup="1", backup_price="0", regions=["us-east"])
    plans.create_plan(w["admin"], provider_account_id=w["account"], provider_plan_id="g6-standard-2", name="B",
                      category="memory", markup="1", backup_price="0", regions=["us-east"])
    client = await tab(w, "admin")
    assert [r["name"] for r in (await state(client)).visible_rows] == ["A", "B"]
    await client.call(S, "set_filter_category", value="memory")
    assert [r["name"] for r in (await state(client)).visible_rows] == ["B"]
    await client.call(S, "set_filter_provider", value=str(uuid.uuid4()))  # unknown: ignored
    await client.call(S, "set_filter_category", value="<script>")  # unknown: ignored
    st = await state(client)
    assert st.filter_provider == "all" and st.filter_category == "memory" and st.filtered
    await client.call(S, "clear_filters")
    assert len((await state(client)).visible_rows) == 2


async def test_a_customer_calling_the_handlers_is_refused_and_changes_nothing(w):
    plan = plans.create_plan(w["admin"], provider_account_id=w["account"], provider_plan_id="g6-standard-1",
                             name="Cloud 2", category="standard", markup="3", backup_price="2",
                             regions=["us-east"])
    before = snapshot()
    client = await tab(w, "customer")
    assert any(getattr(e, "name", "") == "_redirect" or "redirect" in str(e) for e in client.sent_events)
    st = await state(client)
    assert st.rows == [] and st.accounts == []
    calls = [
        ("open_new", {}), ("open_edit", {"plan_id": plan["id"]}), ("set_active", {"plan_id": plan["id"], "value": False}),
        ("delete", {"plan_id": plan["id"]}), ("open_names", {}),
        ("save_names", {"form_data": {"category_standard": "Hacked", "category_cpu": "x", "category_memory": "y",
                                      "category_storage": "z", "category_gpu": "w"}}),
        ("set_f_account", {"value": w["account"]}),
    ]
    for handler, payload in calls:
        sent = await client.call(S, handler, **payload)
        assert "platform administrators" in sent or handler in ("open_edit", "set_f_account"), handler
    assert (await state(client)).catalog_plans == []  # the catalog was never handed out
    # A forged dialog: the customer fills the drafts and saves.
    st = await state(client)
    st.f_account, st.f_plan, st.dialog_mode = w["account"], "g6-standard-1", "new"
    st.f_regions = ["us-east"]
    st.catalog_plans = [{"id": "g6-standard-1", "label": "Linode 2GB", "specs": "", "price": "$12.00/mo",
                         "price_raw": "12", "text": "", "regions": ["us-east"]}]
    st.offered_regions = [{"id": "us-east", "label": "New York", "provider_label": "Newark, NJ"}]
    sent = await client.call(S, "save", form_data={"name": "Free server", "base_price": "0", "markup": "0.01",
                                                   "backup_price": "0"})
    assert "platform administrators" in sent
    st.dialog_mode, st.edit_id = "edit", plan["id"]
    sent = await client.call(S, "save", form_data={"name": "Cloud 2", "base_price": "0", "markup": "0.01",
                                                   "backup_price": "0", "display_order": "0"})
    assert "platform administrators" in sent
    assert changed(before, snapshot()) <= {"user_sessions"}  # only the session's last-seen time
    with session_scope() as s:
        assert [p.name for p in s.exec(select(Plan)).all()] == ["Cloud 2"]
    everything = client.everything_sent()
    assert "12.0000" not in everything and TOKEN not in everything


@pytest.mark.parametrize("handler, payload", [
    ("set_active", {"plan_id": 5, "value": True}), ("set_active", {"plan_id": "x", "value": "yes"}),
    ("delete", {"plan_id": None}), ("open_edit", {"plan_id": ["x"]}), ("save_names", {"form_data": "nope"}),
    ("save_names", {"form_data": {"category_standard": 5}}), ("toggle_region", {"region_id": 5, "checked": True}),
    ("set_f_plan", {"value": 7}), ("set_f_category", {"value": None}), ("set_f_name", {"value": 5}),
])
async def test_malformed_payloads_change_nothing(w, handler, payload):
    client = await tab(w, "admin")
    before = snapshot()
    await client.call(S, handler, **payload)
    assert changed(before, snapshot()) <= {"user_sessions"}
