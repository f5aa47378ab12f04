"""SSH endpoints of simulated servers: real asyncssh clients log in over loopback with the root
password or a key, run commands (exec and an interactive pty shell), and lose the server when it
stops; only the holder of the advisory lock serves."""

from __future__ import annotations

import asyncio
import socket
import uuid
from datetime import datetime, timezone

import asyncssh
import pytest
from sqlalchemy import text

from skypanel.backend.config import get_settings
from skypanel.backend.db import get_engine, session_scope
from skypanel.backend.models.simulated import SimulatedInstance
from skypanel.backend.providers import simulated
from skypanel.backend.providers.simulated import SimulatedProvider, host_key_aad
from skypanel.backend.providers.simulated_ssh import LOCK_KEY, DemoShell, SimulatedSSH, simulated_ssh_loop
from skypanel.backend.security import decrypt
from skypanel.backend.services import provider_accounts as pa

from .factories import make_user

PASSWORD = "Sim-Root-Pass-42"
PROMPT = "root@web-1:~# "


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def sim(db, monkeypatch):
    """An instant (delay_scale 0) simulated provider whose servers listen on a free port."""
    monkeypatch.setattr(get_settings(), "simulated_ssh_port", _free_port())
    _, admin = make_user("ssh-admin@example.com", admin=True)
    return SimulatedProvider(uuid.UUID(pa.add_account(admin, kind="simulated", name="Sim", token="")["id"]),
                             delay_scale=0)


@pytest.fixture()
async def manager():
    m = SimulatedSSH()
    yield m
    await m.close()


def _host_key(pid: str) -> asyncssh.SSHKey:
    with session_scope() as s:
        row = s.get(SimulatedInstance, int(pid))
        return asyncssh.import_private_key(decrypt(row.host_key_enc, aad=host_key_aad(row.id))).convert_to_public()


async def _connect(inst, **kw) -> asyncssh.SSHClientConnection:
    options = dict(username="root", known_hosts=([_host_key(inst.provider_id)], [], []), client_keys=None,
                   agent_path=None, connect_timeout=5) | kw
    return await asyncssh.connect(inst.ipv4[0], inst.ssh_port, **options)


async def _read_prompt(proc: asyncssh.SSHClientProcess) -> str:
    return await asyncio.wait_for(proc.stdout.readuntil(PROMPT), 5)


async def test_password_login_and_exec_commands(sim, manager):
    inst = await sim.create_instance(label="web-1", region="sim-nyc", plan="sim-1c-1g", image="ubuntu-24.04",
                                     root_password=PASSWORD, ssh_keys=[], backups=False, tags=[])
    assert inst.status == "running" and inst.ipv4[0].startswith("127.42.")
    await manager.reconcile()
    assert set(manager.listeners) == {int(inst.provider_id)}

    # the client pins the instance's own host key: a different key would fail the handshake
    async with await _connect(inst, password=PASSWORD) as conn:
        result = await conn.run("echo hello", check=True)
        assert (result.stdout, result.exit_status) == ("hello\n", 0)
        assert (await conn.run('echo "$USER at $HOSTNAME" \'$HOME\'')).stdout == "root at web-1 $HOME\n"
        assert (await conn.run("whoami")).stdout == "root\n"
        assert (await conn.run("hostname")).stdout == "web-1\n"
        assert (await conn.run("uname -a")).stdout.startswith("Linux web-1 ")
        assert 'PRETTY_NAME="Ubuntu 24.04 LTS"' in (await conn.run("cat /etc/os-release")).stdout
        assert " up " in (await conn.run("uptime")).stdout
        assert (await conn.run("pwd")).stdout == "/root\n"
        assert "README.txt" in (await conn.run("ls")).stdout
        missing = await conn.run("rm -rf /")
        assert (missing.stdout, missing.exit_status) == ("rm: command not found\n", 127)
        assert (await conn.run("exit 3")).exit_status == 3
        both = await conn.run("hostname; whoami && cat /nope && echo skipped; echo 'a;b' || echo no")
        assert both.stdout == "web-1\nroot\ncat: /nope: No such file or directory\na;b\n"
        assert (await conn.run("cat /nope")).exit_status == 1

    other_key = asyncssh.generate_private_key("ssh-ed25519")
    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        await _connect(inst, password=PASSWORD, known_hosts=([other_key.convert_to_public()], [], []))


async def test_wrong_password_and_other_users_are_refused(sim, manager):
    inst = await sim.create_instance(label="web-1", region="sim-nyc", plan="sim-1c-1g", image="debian-12",
                                     root_password=PASSWORD, ssh_keys=[], backups=False, tags=[])
    await manager.reconcile()
    for username, password in (("root", "wrong-password"), ("root", PASSWORD + "x"), ("admin", PASSWORD),
                               ("root", "")):
        with pytest.raises(asyncssh.PermissionDenied):
            await _connect(inst, username=username, password=password)

    # a reset password applies to the next login at once
    await sim.reset_root_password(inst.provider_id, root_password="Brand-New-Pass-7")
    with pytest.raises(asyncssh.PermissionDenied):
        await _connect(inst, password=PASSWORD)
    async with await _connect(inst, password="Brand-New-Pass-7") as conn:
        assert (await conn.run("whoami")).stdout == "root\n"


async def test_public_key_login(sim, manager):
    key = asyncssh.generate_private_key("ssh-ed25519")
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    inst = await sim.create_instance(label="web-1", region="sim-nyc", plan="sim-1c-1g", image="debian-12",
                                     root_password=PASSWORD, backups=False, tags=[],
                                     ssh_keys=[key.export_public_key().decode()])
    await manager.reconcile()
    async with await _connect(inst, client_keys=[key]) as conn:
        assert (await conn.run("echo key works")).stdout == "key works\n"
    with pytest.raises(asyncssh.PermissionDenied):
        await _connect(inst, client_keys=[stranger])


async def test_interactive_pty_shell_and_window_change(sim, manager):
    inst = await sim.create_instance(label="web-1", region="sim-nyc", plan="sim-1c-1g", image="debian-12",
                                     root_password=PASSWORD, ssh_keys=[], backups=False, tags=[])
    await manager.reconcile()
    async with await _connect(inst, password=PASSWORD) as conn:
        proc = await conn.create_process(term_type="xterm-256color", term_size=(100, 30))
        banner = await _read_prompt(proc)
        assert "SkyPanel simulated server" in banner and "NOT a real machine" in banner

        proc.stdin.write("stty size\n")
        out = await _read_prompt(proc)
        assert "30 100\r\n" in out

        proc.change_terminal_size(120, 40)
        proc.stdin.write("stty size\n")
        assert "40 120\r\n" in await _read_prompt(proc)

        proc.stdin.write("frobnicate --now\n")
        assert "frobnicate: command not found\r\n" in await _read_prompt(proc)

        proc.stdin.write("echox\x7f hi there\n")  # backspace is handled by the line editor
        assert "hi there\r\n" in await _read_prompt(proc)

        proc.stdin.write("echo abc\x03")  # Ctrl-C drops the half-typed line
        assert (await _read_prompt(proc)).endswith("^C\r\n" + PROMPT)
        proc.stdin.write("whoami\n")
        out = await _read_prompt(proc)
        assert "root\r\n" in out and "abc" not in out

        proc.stdin.write("cd /etc\n")
        await asyncio.wait_for(proc.stdout.readuntil("root@web-1:/etc# "), 5)
        proc.stdin.write("exit\n")
        await asyncio.wait_for(proc.wait(), 5)
        assert proc.exit_status == 0


async def test_listener_stops_after_shutdown_and_delete(sim, manager):
    inst = await sim.create_instance(label="web-1", region="sim-nyc", plan="sim-1c-1g", image="debian-12",
                                     root_password=PASSWORD, ssh_keys=[], backups=False, tags=[])
    await manager.reconcile()
    conn = await _connect(inst, password=PASSWORD)
    await sim.shutdown(inst.provider_id)
    await manager.reconcile()
    assert manager.listeners == {}
    await asyncio.wait_for(conn.wait_closed(), 5)  # open sessions drop with the "machine"
    with pytest.raises(OSError):
        await _connect(inst, password=PASSWORD)

    await sim.boot(inst.provider_id)
    await manager.reconcile()
    async with await _connect(inst, password=PASSWORD) as again:
        assert (await again.run("echo back")).stdout == "back\n"

    await sim.delete_instance(inst.provider_id)
    await manager.reconcile()
    assert manager.listeners == {}
    with pytest.raises(OSError):
        await _connect(inst, password=PASSWORD)


async def test_loop_serves_only_while_holding_the_advisory_lock(sim):
    inst = await sim.create_instance(label="web-1", region="sim-nyc", plan="sim-1c-1g", image="debian-12",
                                     root_password=PASSWORD, ssh_keys=[], backups=False, tags=[])
    manager = SimulatedSSH()
    holder = get_engine().connect().execution_options(isolation_level="AUTOCOMMIT")
    holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_KEY})  # another process serves
    task = asyncio.create_task(simulated_ssh_loop(interval=0.05, manager=manager))
    try:
        await asyncio.sleep(0.5)
        assert manager.listeners == {}
        holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
        for _ in range(100):
            if manager.listeners:
                break
            await asyncio.sleep(0.05)
        async with await _connect(inst, password=PASSWORD) as conn:
            assert (await conn.run("echo served")).stdout == "served\n"
        # while this loop holds the lock, nobody else gets it
        assert holder.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar_one() is False
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert manager.listeners == {}
    with pytest.raises(OSError):
        await _connect(inst, password=PASSWORD)
    assert holder.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar_one() is True
    holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
    holder.close()


async def test_a_taken_address_is_retried_not_fatal(sim, manager):
    inst = await sim.create_instance(label="web-1", region="sim-nyc", plan="sim-1c-1g", image="debian-12",
                                     root_password=PASSWORD, ssh_keys=[], backups=False, tags=[])
    squatter = socket.socket()
    squatter.bind((inst.ipv4[0], inst.ssh_port))
    squatter.listen()
    try:
        await manager.reconcile()
        assert manager.listeners == {}
    finally:
        squatter.close()
    await manager.reconcile()
    assert set(manager.listeners) == {int(inst.provider_id)}


def test_demo_shell_commands_without_a_connection():
    class FakeProcess:
        def get_terminal_size(self):
            return (80, 24, 0, 0)

    shell = DemoShell(FakeProcess(), {"label": "db-1", "image": "alpine-3.20",
                                      "booted_at": datetime.now(timezone.utc)})
    assert shell.run("stty size") == ("24 80\n", None)
    assert shell.run("echo -n a b") == ("a b", None)
    assert shell.run("echo ${HOSTNAME}") == ("db-1\n", None)
    first, second = shell.run("echo $RANDOM")[0], shell.run("echo ${RANDOM}")[0]
    assert first.strip().isdigit() and 0 <= int(first) <= 32767 and second.strip().isdigit()
    assert shell.run("echo '$RANDOM'") == ("$RANDOM\n", None)
    assert shell.run("uname") == ("Linux\n", None)
    assert shell.run("uname -nr") == ("db-1 6.1.0-skypanel-sim\n", None)
    assert shell.run("cat /nope")[0] == "cat: /nope: No such file or directory\n"
    assert shell.run("cat /etc")[0] == "cat: /etc: Is a directory\n"
    assert shell.run("cat /etc/hostname")[0] == "db-1\n"
    assert shell.run("ls /etc")[0] == "hostname  os-release\n"
    assert shell.run("echo 'unterminated")[0].startswith("sh: syntax error")
    assert shell.run("cd /nowhere")[0] == "sh: cd: /nowhere: No such file or directory\n"
    assert shell.run("cd ..") == ("", None) and shell.run("pwd")[0] == "/\n"
    assert shell.run("clear")[0] == "\x1b[H\x1b[2J"
    assert shell.run("logout") == ("", 0)
    assert shell.run("cat /nope || echo fallback") == ("cat: /nope: No such file or directory\nfallback\n", None)
    assert shell.run("whoami && exit 5; echo never") == ("root\n", 5)
    assert shell.run("nosuch") == ("nosuch: command not found\n", None) and shell.last_status == 127
    assert shell.run("echo $?") == ("127\n", None)
    assert shell.run("cd ~/ && pwd") == ("/root\n", None)
    assert shell.run("cd /etc; cat ~/README.txt")[0].startswith("This server is simulated")
    assert "stty size" in shell.run("help")[0]
    assert shell.run("   ") == ("", None)
    assert simulated.ip_for(1) == "127.42.0.1"
