"""An owner adds SSH keys on /ssh-keys (a private key pasted by mistake is explained inline), sees
each key's fingerprint as `ssh-keygen -lf` prints it, renames one and deletes it; a member sees the
keys read-only and a viewer gets the no-access panel. Screenshots (light, dark, phone) go to
test-results/ for review."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from playwright.sync_api import Page, expect

from skypanel.backend.config import PROJECT_ROOT
from skypanel.backend.db import session_scope
from skypanel.backend.models import User
from skypanel.backend.services import orgs
from tests.integration.factories import PASSWORD, add_member, make_user, personal_org

from .helpers import sign_in, unique_email

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

SHOTS = PROJECT_ROOT / "test-results"
PHONE = {"width": 390, "height": 844}


def fingerprint_by_ssh_keygen(line: str, tmp_path: Path) -> str:
    """What `ssh-keygen -lf` prints for the key (computed in Python only if it is not installed)."""
    path = tmp_path / "key.pub"
    path.write_text(line + "\n")
    keygen = shutil.which("ssh-keygen")
    if keygen is None:
        from skypanel.backend.services.ssh_keys import parse_public_key
        return parse_public_key(line).fingerprint
    return subprocess.run([keygen, "-lf", str(path)], capture_output=True, text=True, check=True,
                          timeout=30).stdout.split()[1]


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.wait_for_timeout(400)  # let toasts and dialogs finish animating
    page.screenshot(path=str(SHOTS / f"ssh-keys-{name}.png"), full_page=True)


def _make_active(user_id, org_id) -> None:
    with session_scope() as s:
        s.get(User, user_id).active_organization_id = org_id


def test_owner_adds_renames_and_deletes_keys(new_context, tmp_path):
    owner_email, member_email, viewer_email = unique_email("kim"), unique_email("mo"), unique_email("val")
    owner_id, owner = make_user(owner_email, "Kim Keyholder")
    org = personal_org(owner_id)
    org_name = "Keyholders " + owner_email[4:12]
    orgs.rename_organization(owner, str(org), name=org_name)

    laptop = ed25519.Ed25519PrivateKey.generate()
    laptop_pub = laptop.public_key().public_bytes(ser.Encoding.OpenSSH, ser.PublicFormat.OpenSSH).decode()
    laptop_line = laptop_pub + " kim@laptop"
    laptop_private = laptop.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.OpenSSH, ser.NoEncryption()).decode()
    build_line = rsa.generate_private_key(65537, 3072).public_key().public_bytes(
        ser.Encoding.OpenSSH, ser.PublicFormat.OpenSSH).decode() + " ci@build"
    laptop_fp = fingerprint_by_ssh_keygen(laptop_line, tmp_path)
    build_fp = fingerprint_by_ssh_keygen(build_line, tmp_path)

    page = new_context(color_scheme="light").new_page()
    sign_in(page, email=owner_email, password=PASSWORD)
    page.goto("/ssh-keys")
    expect(page.get_by_role("heading", name="SSH keys", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="No SSH keys yet")).to_be_visible()
    expect(page.get_by_text('ssh-keygen -t ed25519 -C "you@example.com"')).to_be_visible()
    expect(page.get_by_text("cat ~/.ssh/id_ed25519.pub")).to_be_visible()
    shot(page, "empty-light")

    # A private key pasted by mistake: explained under the field, nothing added.
    page.get_by_role("button", name="Add SSH key").first.click()
    dialog = page.get_by_role("dialog", name="Add an SSH key")
    dialog.get_by_label("Public key").fill(laptop_private)
    dialog.get_by_role("button", name="Add SSH key").click()
    expect(dialog.get_by_text("This looks like a private key — paste the .pub file")).to_be_visible()
    shot(page, "add-error-light")

    # The public key, with no name: the key's comment becomes its name.
    dialog.get_by_label("Public key").fill(laptop_line)
    dialog.get_by_role("button", name="Add SSH key").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_text("Added SSH key kim@laptop.")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="kim@laptop")
    expect(row.get_by_text(laptop_fp, exact=True)).to_be_visible()
    expect(row.get_by_text("Ed25519", exact=True)).to_be_visible()
    expect(row.get_by_text("Kim Keyholder")).to_be_visible()

    # A second key with a name; adding it again is refused with the name it has.
    page.get_by_role("button", name="Add SSH key").first.click()
    dialog = page.get_by_role("dialog", name="Add an SSH key")
    dialog.get_by_label("Public key").fill(build_line)
    dialog.get_by_label("Name").fill("Build server")
    dialog.get_by_role("button", name="Add SSH key").click()
    expect(dialog).to_be_hidden()
    build_row = page.get_by_role("row").filter(has_text="Build server")
    expect(build_row.get_by_text(build_fp, exact=True)).to_be_visible()
    expect(build_row.get_by_text("RSA 3072", exact=True)).to_be_visible()
    page.get_by_role("button", name="Add SSH key").first.click()
    dialog = page.get_by_role("dialog", name="Add an SSH key")
    dialog.get_by_label("Public key").fill(build_line)
    dialog.get_by_role("button", name="Add SSH key").click()
    expect(dialog.get_by_text("This key is already added as Build server.")).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    shot(page, "desktop-light")

    # Rename.
    row.get_by_role("button", name="Rename kim@laptop").click()
    rename = page.get_by_role("dialog", name="Rename SSH key")
    expect(rename.get_by_label("Name")).to_have_value("kim@laptop")
    rename.get_by_label("Name").fill("Work laptop")
    rename.get_by_role("button", name="Save name").click()
    expect(rename).to_be_hidden()
    expect(page.get_by_text("Renamed to Work laptop.")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Work laptop")
    expect(row.get_by_text(laptop_fp, exact=True)).to_be_visible()

    # The same page in dark mode and on a phone.
    dark = new_context(color_scheme="dark").new_page()
    sign_in(dark, email=owner_email, password=PASSWORD)
    dark.goto("/ssh-keys")
    expect(dark.get_by_role("row").filter(has_text="Work laptop")).to_be_visible()
    shot(dark, "desktop-dark")
    phone = new_context(color_scheme="light", viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    sign_in(phone, email=owner_email, password=PASSWORD)
    phone.goto("/ssh-keys")
    expect(phone.get_by_text(build_fp, exact=True).locator("visible=true")).to_be_visible()
    expect(phone.get_by_role("button", name="Delete Build server")).to_be_visible()
    shot(phone, "phone-light")
    phone.get_by_role("button", name="Add SSH key").first.click()
    expect(phone.get_by_role("dialog", name="Add an SSH key")).to_be_visible()
    shot(phone, "phone-add-dialog")

    # Delete, after confirming.
    row.get_by_role("button", name="Delete Work laptop").click()
    confirm = page.get_by_role("alertdialog", name="Delete Work laptop?")
    expect(confirm.get_by_text("Servers that already have it keep it")).to_be_visible()
    confirm.get_by_role("button", name="Delete key").click()
    expect(page.get_by_text("Deleted Work laptop.")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Work laptop")).to_have_count(0)
    expect(page.get_by_role("row").filter(has_text="Build server")).to_be_visible()

    # A member sees the keys but no way to change them; a viewer sees no keys at all.
    member_id, _ = make_user(member_email, "Mo Member")
    add_member(org, member_id, "member")
    _make_active(member_id, org)
    viewer_id, _ = make_user(viewer_email, "Val Viewer")
    add_member(org, viewer_id, "viewer")
    _make_active(viewer_id, org)

    member = new_context().new_page()
    sign_in(member, email=member_email, password=PASSWORD)
    member.goto("/ssh-keys")
    member_row = member.get_by_role("row").filter(has_text="Build server")
    expect(member_row.get_by_text(build_fp, exact=True)).to_be_visible()
    expect(member.get_by_text("Adding, renaming or deleting them needs the Manage SSH keys permission.")
           ).to_be_visible()
    expect(member.get_by_role("button", name="Add SSH key")).to_have_count(0)
    expect(member_row.get_by_role("button", name="Delete Build server")).to_have_count(0)
    expect(member_row.get_by_role("button", name="Rename Build server")).to_have_count(0)
    shot(member, "member-read-only")

    viewer = new_context().new_page()
    sign_in(viewer, email=viewer_email, password=PASSWORD)
    viewer.goto("/ssh-keys")
    expect(viewer.get_by_role("heading", name="You do not have access to SSH keys")).to_be_visible()
    assert build_fp not in viewer.content()
