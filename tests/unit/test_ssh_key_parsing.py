"""OpenSSH public key parsing for organization SSH keys (services/ssh_keys.parse_public_key).

Real keys are generated with `cryptography`; fingerprints are compared with what `ssh-keygen -lf`
prints for the same .pub file (openssh-client is installed on the machines that run the tests).
"""

from __future__ import annotations

import base64
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from skypanel.backend.services import ssh_keys
from skypanel.backend.services.errors import ValidationError
from skypanel.backend.services.ssh_keys import clean_name, fingerprint_of, parse_public_key, type_label

SSH_KEYGEN = shutil.which("ssh-keygen")
needs_keygen = pytest.mark.skipif(SSH_KEYGEN is None, reason="ssh-keygen (openssh-client) is not installed")


def _string(value: bytes | str) -> bytes:
    value = value.encode() if isinstance(value, str) else value
    return struct.pack(">I", len(value)) + value


def _mpint(n: int) -> bytes:
    raw = n.to_bytes((n.bit_length() + 8) // 8, "big")  # a leading zero byte keeps it positive
    return _string(raw)


def openssh(private_key, comment: str = "") -> str:
    line = private_key.public_key().public_bytes(ser.Encoding.OpenSSH, ser.PublicFormat.OpenSSH).decode()
    return f"{line} {comment}".strip()


def _line(key_type: str, blob: bytes, comment: str = "") -> str:
    return f"{key_type} {base64.b64encode(blob).decode()} {comment}".strip()


def sk_ed25519(comment: str = "") -> str:
    raw = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw)
    blob = _string("sk-ssh-ed25519@openssh.com") + _string(raw) + _string("ssh:")
    return _line("sk-ssh-ed25519@openssh.com", blob, comment)


def sk_ecdsa(comment: str = "") -> str:
    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        ser.Encoding.X962, ser.PublicFormat.UncompressedPoint)
    blob = _string("sk-ecdsa-sha2-nistp256@openssh.com") + _string("nistp256") + _string(point) + _string("ssh:")
    return _line("sk-ecdsa-sha2-nistp256@openssh.com", blob, comment)


@pytest.fixture(scope="module")
def keys() -> dict[str, str]:
    """One .pub line per accepted kind (RSA generation is the slow part: done once)."""
    return {
        "ed25519": openssh(ed25519.Ed25519PrivateKey.generate(), "alice@laptop"),
        "rsa2048": openssh(rsa.generate_private_key(65537, 2048), "bob@desktop"),
        "rsa3072": openssh(rsa.generate_private_key(65537, 3072)),
        "ecdsa256": openssh(ec.generate_private_key(ec.SECP256R1()), "p256"),
        "ecdsa384": openssh(ec.generate_private_key(ec.SECP384R1()), "p384"),
        "ecdsa521": openssh(ec.generate_private_key(ec.SECP521R1()), "p521"),
        "sk-ed25519": sk_ed25519("yubikey"),
        "sk-ecdsa": sk_ecdsa("yubikey p256"),
    }


EXPECTED = {
    "ed25519": ("ssh-ed25519", "Ed25519", 256),
    "rsa2048": ("ssh-rsa", "RSA 2048", 2048),
    "rsa3072": ("ssh-rsa", "RSA 3072", 3072),
    "ecdsa256": ("ecdsa-sha2-nistp256", "ECDSA P-256", 256),
    "ecdsa384": ("ecdsa-sha2-nistp384", "ECDSA P-384", 384),
    "ecdsa521": ("ecdsa-sha2-nistp521", "ECDSA P-521", 521),
    "sk-ed25519": ("sk-ssh-ed25519@openssh.com", "Ed25519-SK", 256),
    "sk-ecdsa": ("sk-ecdsa-sha2-nistp256@openssh.com", "ECDSA-SK P-256", 256),
}


def keygen_fingerprint(line: str, tmp_path: Path) -> str:
    path = tmp_path / f"k{os.getpid()}-{abs(hash(line))}.pub"
    path.write_text(line + "\n")
    out = subprocess.run([SSH_KEYGEN, "-lf", str(path)], capture_output=True, text=True, timeout=30, check=True)
    return out.stdout.split()[1]  # "<bits> SHA256:... <comment> (<TYPE>)"


def refused(text, contains: str = "") -> str:
    with pytest.raises(ValidationError) as info:
        parse_public_key(text)
    err = info.value
    assert err.field == "public_key"
    assert err.message.rstrip()[-1] in ".!?" and len(err.message) <= 300
    if contains:
        assert contains.lower() in err.message.lower(), err.message
    return err.message


# ---------------------------------------------------------------- accepted keys


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_accepted_kinds_parse_with_their_type_and_size(keys, kind):
    parsed = parse_public_key(keys[kind])
    key_type, label, bits = EXPECTED[kind]
    assert parsed.key_type == key_type
    assert parsed.bits == bits
    assert type_label(parsed.key_type, parsed.bits) == label
    assert parsed.canonical == keys[kind]  # already canonical: stored exactly as given


@needs_keygen
@pytest.mark.parametrize("kind", list(EXPECTED))
def test_fingerprint_is_what_ssh_keygen_prints(keys, kind, tmp_path):
    parsed = parse_public_key(keys[kind])
    assert parsed.fingerprint == keygen_fingerprint(keys[kind], tmp_path)
    assert parsed.fingerprint.startswith("SHA256:") and not parsed.fingerprint.endswith("=")
    assert len(parsed.fingerprint) == len("SHA256:") + 43


@needs_keygen
def test_fingerprint_of_a_key_made_by_ssh_keygen(tmp_path):
    """The other direction: a key ssh-keygen generated itself."""
    subprocess.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", "made@keygen", "-f", str(tmp_path / "id")],
                   check=True, timeout=30)
    line = (tmp_path / "id.pub").read_text()
    parsed = parse_public_key(line)
    assert parsed.fingerprint == keygen_fingerprint(line.strip(), tmp_path)
    assert parsed.comment == "made@keygen"
    assert parsed.canonical == line.strip()


def test_whitespace_is_normalised_and_the_comment_kept(keys):
    typ, data, comment = keys["ed25519"].split(" ", 2)
    messy = f"\n  {typ}\t {data}   {comment}   and   more \r\n\n"
    parsed = parse_public_key(messy)
    assert parsed.comment == "alice@laptop and more"
    assert parsed.canonical == f"{typ} {data} alice@laptop and more"
    assert parsed.fingerprint == parse_public_key(keys["ed25519"]).fingerprint


def test_missing_base64_padding_is_restored(keys):
    typ, data = keys["ecdsa256"].split()[:2]
    assert data.endswith("=")
    parsed = parse_public_key(f"{typ} {data.rstrip('=')}")
    assert parsed.data == data and parsed.comment == ""


def test_unicode_comment_is_kept(keys):
    typ, data = keys["ed25519"].split()[:2]
    assert parse_public_key(f"{typ} {data} Zoë's 山田 laptop 🚀").comment == "Zoë's 山田 laptop 🚀"


def test_fingerprint_of_matches_the_parsed_blob(keys):
    parsed = parse_public_key(keys["rsa2048"])
    assert fingerprint_of(base64.b64decode(keys["rsa2048"].split()[1])) == parsed.fingerprint


# ---------------------------------------------------------------- refused keys


def test_rsa_1024_is_refused_with_its_size():
    msg = refused(openssh(rsa.generate_private_key(65537, 1024)), "at least 2048 bits")
    assert "1024" in msg


def test_rsa_above_16384_bits_is_refused():
    n = (1 << 16399) | 1  # an odd modulus of 16400 bits (never used to encrypt; only its size matters)
    blob = _string("ssh-rsa") + _mpint(65537) + _mpint(n)
    refused(_line("ssh-rsa", blob), "at most 16384 bits")


def test_dsa_is_refused_clearly():
    """Refused by its type, before any parsing (cryptography's DSA support is deprecated)."""
    blob = _string("ssh-dss") + b"".join(_mpint(n) for n in ((1 << 1023) | 1, (1 << 159) | 1, 2, 3))
    refused(_line("ssh-dss", blob, "old@box"), "DSA keys")


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t", None, 42, b"ssh-ed25519 AAAA", ["ssh-ed25519"]])
def test_empty_or_not_text(text):
    refused(text, "paste a public key")


def test_truncated_base64(keys):
    typ, data, _ = keys["ed25519"].split(" ", 2)
    refused(f"{typ} {data[:-10]}", "damaged or incomplete")
    typ, data = keys["rsa2048"].split()[:2]
    refused(f"{typ} {data[: len(data) // 2]}", "damaged or incomplete")


def test_base64_with_bad_characters(keys):
    typ, data = keys["ed25519"].split()[:2]
    refused(f"{typ} {data[:20]}!{data[21:]}", "damaged")
    refused(f"{typ} {data[:20]}-_{data[22:]}", "damaged")


def test_extra_bytes_after_the_key_data(keys):
    typ, data = keys["ed25519"].split()[:2]
    refused(_line(typ, base64.b64decode(data) + b"\x00\x00\x00\x01x"), "damaged")


def test_declared_type_must_match_the_key_data(keys):
    data = keys["ed25519"].split()[1]
    msg = refused(f"ssh-rsa {data} me", "the line says ssh-rsa")
    assert "ssh-ed25519" in msg
    data384 = keys["ecdsa384"].split()[1]
    refused(f"ecdsa-sha2-nistp256 {data384}", "ecdsa-sha2-nistp384")
    refused(f"sk-ssh-ed25519@openssh.com {data}", "ssh-ed25519")


def test_ecdsa_curve_inside_must_match_the_type():
    """Type strings agree but the curve name inside names another curve."""
    point = ec.generate_private_key(ec.SECP384R1()).public_key().public_bytes(
        ser.Encoding.X962, ser.PublicFormat.UncompressedPoint)
    blob = _string("ecdsa-sha2-nistp256") + _string("nistp384") + _string(point)
    refused(_line("ecdsa-sha2-nistp256", blob), "damaged")


def test_unknown_and_unsupported_types(keys):
    data = keys["ed25519"].split()[1]
    refused(f"ssh-foo {data}", "not supported")
    refused(f"ssh-ed448 {data}", "not supported")
    refused(f"ssh-ed25519-cert-v01@openssh.com {data}", "certificates")
    refused(f"sk-ssh-ed448@openssh.com {data}", "security-key")


def test_missing_key_data():
    refused("ssh-ed25519", "missing")
    refused("ssh-ed25519    ", "missing")


def test_not_a_key_at_all():
    for text in ("hello world", "AAAAC3NzaC1lZDI1NTE5AAAAIA", "https://github.com/alice.keys",
                 "'; DROP TABLE ssh_keys;--",
                 "<script>alert(1)</script>"):
        refused(text, "not an OpenSSH public key")


def test_authorized_keys_options_in_front(keys):
    refused('from="10.0.0.1",no-pty ' + keys["ed25519"], "options in front")


def test_private_keys_get_the_private_key_message():
    key = rsa.generate_private_key(65537, 2048)
    pems = {
        "traditional": key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.TraditionalOpenSSL, ser.NoEncryption()),
        "pkcs8": key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption()),
        "openssh": ed25519.Ed25519PrivateKey.generate().private_bytes(
            ser.Encoding.PEM, ser.PrivateFormat.OpenSSH, ser.NoEncryption()),
        "openssh_encrypted": ed25519.Ed25519PrivateKey.generate().private_bytes(
            ser.Encoding.PEM, ser.PrivateFormat.OpenSSH, ser.BestAvailableEncryption(b"pw")),
        "ec": ec.generate_private_key(ec.SECP256R1()).private_bytes(
            ser.Encoding.PEM, ser.PrivateFormat.TraditionalOpenSSL, ser.NoEncryption()),
    }
    for name, pem in pems.items():
        msg = refused(pem.decode(), "this looks like a private key")
        assert ".pub" in msg, name
    # Only the body of an OpenSSH private key, without its BEGIN/END lines.
    body = "".join(pems["openssh"].decode().splitlines()[1:-1])
    refused(body, "private key")
    refused("PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n", "private key")


def test_other_public_key_formats_say_how_to_convert():
    pem = rsa.generate_private_key(65537, 2048).public_key().public_bytes(
        ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo).decode()
    refused(pem, "ssh-keygen -i -m PKCS8")
    rfc4716 = ('---- BEGIN SSH2 PUBLIC KEY ----\nComment: "x"\nAAAAC3NzaC1lZDI1NTE5AAAAIA==\n'
               '---- END SSH2 PUBLIC KEY ----\n')
    refused(rfc4716, "ssh-keygen -i -f")


def test_multiple_lines(keys):
    refused(keys["ed25519"] + "\n" + keys["ecdsa256"], "one key at a time")
    typ, data = keys["rsa2048"].split()[:2]
    refused(f"{typ} {data[:100]}\n{data[100:]}", "on one line")


def test_nul_and_control_characters(keys):
    refused(keys["ed25519"] + "\x00", "not allowed")
    refused(keys["ed25519"].replace(" alice", " al\x07ice"), "not allowed")
    refused(keys["ed25519"] + " \ud800", "not allowed")


def test_100_kb_blob_is_refused_quickly(keys):
    typ = keys["ed25519"].split()[0]
    refused(f"{typ} " + "A" * 100_000, "too long")
    refused("x" * (ssh_keys.KEY_TEXT_MAX + 1), "too long")


def test_long_comment_is_refused(keys):
    refused(keys["ed25519"] + " " + "c" * (ssh_keys.COMMENT_MAX + 1), "comment")


def test_a_comment_mentioning_private_key_is_still_a_public_key(keys):
    assert parse_public_key(keys["ed25519"] + " not my private key").comment.endswith("not my private key")


# ---------------------------------------------------------------- names


@pytest.mark.parametrize("value, default, expected", [
    ("Work laptop", "", "Work laptop"),
    ("  Work \t  laptop \n", "", "Work laptop"),
    ("", "alice@laptop", "alice@laptop"),
    ("   ", "alice@laptop", "alice@laptop"),
    (None, "alice@laptop", "alice@laptop"),
    ("", "c" * 100, "c" * 64),
    ("y" * 64, "", "y" * 64),
    ("Zoë 山田 🚀", "", "Zoë 山田 🚀"),
    ("<script>alert(1)</script>", "", "<script>alert(1)</script>"),
])
def test_clean_name(value, default, expected):
    assert clean_name(value, default=default) == expected


@pytest.mark.parametrize("value, default", [
    ("", ""), ("   ", ""), (None, ""), ("y" * 65, ""), ("nul\x00", ""), ("bell\x07", ""), ("half\ud800", ""),
    (42, ""), (["x"], ""), ("x" * 10_000, ""),
])
def test_clean_name_refuses(value, default):
    with pytest.raises(ValidationError) as info:
        clean_name(value, default=default)
    assert info.value.field == "name"
