"""SSH endpoints of the simulated provider's servers, embedded in the app process.

Why: the console (and anyone with `ssh`) must reach a simulated server exactly like a real one,
without a cloud. Each running simulated instance gets an asyncssh server bound to its own loopback
address (127.42.x.y) on SIMULATED_SSH_PORT, with its own stable ed25519 host key. `root` logs in
with the instance's root password (constant-time compare) or one of its SSH keys, and gets a
small demo shell that says plainly it is not a real machine -- nothing typed is executed.

`simulated_ssh_loop()` is a Reflex lifespan task, so it starts in every worker; only the process
holding a PostgreSQL session-level advisory lock (on a dedicated connection) runs listeners, the
others retry the lock every tick. Every ~2 s the holder reconciles its listeners with the
instances whose (lazily advanced) status is running: new ones start, stopped, rebooting or
deleted ones are closed along with their open sessions.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import random
import re
import shlex
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import asyncssh
from sqlalchemy import text
from sqlalchemy.engine import Connection

from skypanel.backend.db import get_engine
from skypanel.backend.models.base import utcnow
from skypanel.backend.providers import simulated

log = logging.getLogger("skypanel.simulated_ssh")

LOCK_KEY = zlib.crc32(b"skypanel.simulated_ssh")
INTERVAL = 2.0
LOGIN_TIMEOUT = 60

OS_RELEASE = {
    "debian-12": ('Debian GNU/Linux 12 (bookworm)', 'debian', '12', 'bookworm'),
    "ubuntu-24.04": ('Ubuntu 24.04 LTS', 'ubuntu', '24.04', 'noble'),
    "ubuntu-22.04": ('Ubuntu 22.04 LTS', 'ubuntu', '22.04', 'jammy'),
    "almalinux-9": ('AlmaLinux 9', 'almalinux', '9', ''),
    "alpine-3.20": ('Alpine Linux v3.20', 'alpine', '3.20', ''),
}
BANNER = (
    "Welcome to {label} -- a SkyPanel simulated server.\n"
    "This is NOT a real machine: nothing you type is executed anywhere. A small demo shell\n"
    "answers a few commands so the console can be tried without a cloud. Type 'help'.\n\n"
)
HELP = ("Commands of this demo shell: help, echo, whoami, hostname, uname [-a|-s|-n|-r|-m], uptime, date,\n"
        "pwd, cd, ls [dir], cat <file>, stty size, clear, exit, logout\n")
DIRS = {"/": ["bin", "etc", "home", "root", "tmp", "usr", "var"], "/etc": ["hostname", "os-release"],
        "/root": ["README.txt"], "/home": [], "/tmp": [], "/bin": [], "/usr": [], "/var": []}
README = ("This server is simulated by SkyPanel's built-in provider. It has no disk, no network and no\n"
          "processes: the panel keeps its state in its database and this shell is a demonstration.\n")


def os_release(image: str) -> str:
    name, os_id, version, codename = OS_RELEASE.get(image, (image, image.split("-")[0], "", ""))
    lines = [f'PRETTY_NAME="{name}"', f'NAME="{name.split(" ")[0]}"', f'VERSION_ID="{version}"', f"ID={os_id}"]
    if codename:
        lines.append(f"VERSION_CODENAME={codename}")
    lines.append('HOME_URL="https://example.invalid/skypanel-simulated"')
    return "\n".join(lines) + "\n"


# ---- the demo shell ------------------------------------------------------------------------

class DemoShell:
    """Interprets one command line; knows the server's label, image and terminal size."""

    def __init__(self, process: asyncssh.SSHServerProcess, login: dict[str, Any]) -> None:
        self.process = process
        self.login = login
        self.cwd = "/root"
        self.last_status = 0
        self.env = {"HOME": "/root", "USER": "root", "HOSTNAME": login["label"], "SHELL": "/bin/sh",
                    "PWD": "/root"}

    def _files(self) -> dict[str, str]:
        return {"/etc/os-release": os_release(self.login["image"]), "/etc/hostname": self.login["label"] + "\n",
                "/root/README.txt": README}

    def _path(self, arg: str) -> str:
        if arg == "~" or arg.startswith("~/"):
            arg = "/root" + arg[1:]
        path = arg if arg.startswith("/") else f"{self.cwd.rstrip('/')}/{arg}"
        parts: list[str] = []
        for part in path.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                parts = parts[:-1]
            else:
                parts.append(part)
        return "/" + "/".join(parts)

    def _expand(self, line: str) -> str:
        """$VAR / ${VAR} / $? / $RANDOM outside single quotes (unknown variables expand to nothing)."""
        def sub(m: re.Match[str]) -> str:
            name = m.group(1) or m.group(2)
            if name == "RANDOM":  # as in bash: a new number 0..32767 each time
                return str(random.randint(0, 32767))
            return str(self.last_status) if name == "?" else self.env.get(name, "")
        pieces = re.split(r"('[^']*')", line)
        return "".join(p if p.startswith("'") else re.sub(r"\$(?:\{(\w+|\?)\}|(\w+|\?))", sub, p) for p in pieces)

    def run(self, line: str) -> tuple[str, int | None]:
        """Run a command line -- commands joined by ";", "&&" or "||" -- and return (output, exit
        status to end the session with, or None to carry on). `last_status` is the last command's."""
        try:
            lexer = shlex.shlex(self._expand(line), posix=True, punctuation_chars=";&|")
            lexer.whitespace_split = True
            tokens = list(lexer)
        except ValueError:
            self.last_status = 2
            return "sh: syntax error: unterminated quoted string\n", None
        out: list[str] = []
        argv: list[str] = []
        joiner = ";"  # what precedes the command being collected
        for token in [*tokens, ";"]:
            if token not in (";", "&&", "||"):
                argv.append(token)
                continue
            runs = joiner == ";" or (joiner == "&&") == (self.last_status == 0)
            if argv and runs:  # a skipped command leaves the status as it was, as in sh
                if argv[0] in ("exit", "logout"):
                    code = argv[1] if len(argv) > 1 else str(self.last_status)
                    return "".join(out), int(code) % 256 if code.isdigit() else 2
                text_out, self.last_status = self._command(argv[0], argv[1:])
                out.append(text_out)
            argv, joiner = [], token
        return "".join(out), None

    def _command(self, cmd: str, args: list[str]) -> tuple[str, int]:
        """One command's (output, status)."""
        simple = {
            "help": lambda: HELP,
            "whoami": lambda: "root\n",
            "hostname": lambda: self.login["label"] + "\n",
            "uname": lambda: self._uname(args),
            "uptime": self._uptime,
            "date": lambda: datetime.now(timezone.utc).strftime("%a %b %d %H:%M:%S UTC %Y") + "\n",
            "pwd": lambda: self.cwd + "\n",
            "clear": lambda: "\x1b[H\x1b[2J",
        }
        if cmd in simple:
            return simple[cmd](), 0
        if cmd == "echo":
            newline = not (args and args[0] == "-n")
            return " ".join(args[0 if newline else 1:]) + ("\n" if newline else ""), 0
        if cmd == "cd":
            target = self._path(args[0]) if args else "/root"
            if target not in DIRS:
                return f"sh: cd: {args[0]}: No such file or directory\n", 1
            self.cwd = self.env["PWD"] = target
            return "", 0
        if cmd in ("ls", "cat"):
            output = self._ls(args) if cmd == "ls" else self._cat(args)
            return output, 1 if f"{cmd}: " in output else 0
        if cmd == "stty":
            if args == ["size"]:
                cols, rows = self.process.get_terminal_size()[:2]
                return f"{rows} {cols}\n", 0
            return "stty: this demo shell only supports 'stty size'\n", 1
        return f"{cmd}: command not found\n", 127

    def _uname(self, args: list[str]) -> str:
        fields = {"s": "Linux", "n": self.login["label"], "r": "6.1.0-skypanel-sim", "m": "x86_64"}
        flags = "".join(a.lstrip("-") for a in args if a.startswith("-")) or "s"
        if "a" in flags:
            return (f"Linux {self.login['label']} 6.1.0-skypanel-sim #1 SMP PREEMPT_DYNAMIC "
                    "x86_64 GNU/Linux (simulated)\n")
        return " ".join(fields[f] for f in "snrm" if f in flags) + "\n"

    def _uptime(self) -> str:
        minutes = max(0, int((utcnow() - self.login["booted_at"]).total_seconds() // 60))
        days, rest = divmod(minutes, 1440)
        span = (f"{days} day{'s' if days != 1 else ''}, " if days else "") + (
            f"{rest // 60}:{rest % 60:02d}" if rest >= 60 else f"{rest} min")
        now = datetime.now(timezone.utc).strftime("%H:%M:%S")
        return f" {now} up {span},  1 user,  load average: 0.02, 0.03, 0.00\n"

    def _ls(self, args: list[str]) -> str:
        targets = [a for a in args if not a.startswith("-")] or [self.cwd]
        out = []
        for arg in targets:
            path = self._path(arg)
            if path in DIRS:
                out.append("  ".join(DIRS[path]) + ("\n" if DIRS[path] else ""))
            elif path in self._files():
                out.append(arg + "\n")
            else:
                out.append(f"ls: cannot access '{arg}': No such file or directory\n")
        return "".join(out)

    def _cat(self, args: list[str]) -> str:
        out, files = [], self._files()
        for arg in args:
            path = self._path(arg)
            if path in files:
                out.append(files[path])
            elif path in DIRS:
                out.append(f"cat: {arg}: Is a directory\n")
            else:
                out.append(f"cat: {arg}: No such file or directory\n")
        return "".join(out)

    async def interactive(self) -> int:
        """Banner, then prompt / read a line (asyncssh's line editor echoes and edits) / answer."""
        process = self.process
        process.stdout.write(BANNER.format(label=self.login["label"]))
        prompt = True
        while True:
            if prompt:
                process.stdout.write(f"root@{self.login['label']}:{'~' if self.cwd == '/root' else self.cwd}# ")
            prompt = True
            try:
                line = await process.stdin.readline()
            except asyncssh.TerminalSizeChanged:
                prompt = False  # the line being typed stays in the editor; `stty size` sees the new size
                continue
            except (asyncssh.BreakReceived, asyncssh.SignalReceived):
                process.channel.clear_input()  # drop the half-typed line (the editor erases it on screen)
                process.stdout.write("^C\n")
                continue
            if not line:  # Ctrl-D on an empty line, or the client closed its input
                process.stdout.write("logout\n")
                return 0
            output, status = self.run(line.rstrip("\r\n"))
            process.stdout.write(output)
            if status is not None:
                process.stdout.write("logout\n")
                return status


async def _session(process: asyncssh.SSHServerProcess) -> None:
    """One SSH session: an `exec` request runs one command, a shell request gets the prompt."""
    owner = process.get_extra_info("connection").get_owner()
    shell = DemoShell(process, owner.login or {})
    try:
        if process.command is not None:
            output, status = shell.run(process.command)
            process.stdout.write(output)
            process.exit(shell.last_status if status is None else status)
        else:
            process.exit(await shell.interactive())
    except (asyncssh.Error, ConnectionError, BrokenPipeError):
        process.close()


# ---- server and listeners --------------------------------------------------------------------

@dataclass
class _Listener:
    endpoint: tuple[str, int]
    acceptor: asyncssh.SSHAcceptor | None = None
    connections: set[asyncssh.SSHServerConnection] = field(default_factory=set)


class _Server(asyncssh.SSHServer):
    """Authenticates root against the instance's current password and keys (read per connection)."""

    def __init__(self, instance_id: int, listener: _Listener) -> None:
        self.instance_id = instance_id
        self.listener = listener
        self.login: dict[str, Any] | None = None
        self._keys: list[asyncssh.SSHKey] = []
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self.listener.connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self.listener.connections.discard(self._conn)

    async def begin_auth(self, username: str) -> bool:
        self.login = await asyncio.to_thread(simulated.ssh_login, self.instance_id) if username == "root" else None
        self._keys = []
        for line in (self.login or {}).get("public_keys", []):
            try:
                self._keys.append(asyncssh.import_public_key(line))
            except (asyncssh.KeyImportError, ValueError):
                continue
        return True  # authentication is always required

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        expected = (self.login or {}).get("password", "")
        same = hmac.compare_digest(password.encode("utf-8", "surrogatepass"), expected.encode("utf-8"))
        return same and bool(expected) and username == "root" and self.login is not None

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return username == "root" and any(key.public_data == k.public_data for k in self._keys)


class SimulatedSSH:
    """The listeners of this process, kept equal to the set of running simulated instances."""

    def __init__(self) -> None:
        self.listeners: dict[int, _Listener] = {}
        self._bind_failures: dict[int, tuple[str, int]] = {}

    async def reconcile(self) -> None:
        wanted = await asyncio.to_thread(simulated.ssh_endpoints)
        for iid in [i for i, lis in self.listeners.items() if wanted.get(i) != lis.endpoint]:
            await self.stop(iid)
        for iid, endpoint in wanted.items():
            if iid not in self.listeners:
                await self._start(iid, endpoint)
        self._bind_failures = {i: e for i, e in self._bind_failures.items() if wanted.get(i) == e}

    async def _start(self, iid: int, endpoint: tuple[str, int]) -> None:
        pem = await asyncio.to_thread(simulated.ssh_host_key, iid)
        if pem is None:
            return
        listener = _Listener(endpoint)
        try:
            listener.acceptor = await asyncssh.create_server(
                lambda: _Server(iid, listener), endpoint[0], endpoint[1],
                server_host_keys=[asyncssh.import_private_key(pem)], process_factory=_session,
                login_timeout=LOGIN_TIMEOUT, keepalive_interval=30, agent_forwarding=False, x11_forwarding=False,
                allow_scp=False, sftp_factory=None, encoding="utf-8", line_editor=True,
                server_version="SkyPanel_Simulated")
        except OSError as exc:  # e.g. the address is taken by another SkyPanel on this machine: retry later
            if self._bind_failures.get(iid) != endpoint:
                log.warning("simulated server %s: cannot listen on %s:%s: %s", iid, *endpoint, exc)
                self._bind_failures[iid] = endpoint
            return
        self._bind_failures.pop(iid, None)
        self.listeners[iid] = listener
        log.info("simulated server %s: SSH on %s:%s", iid, *endpoint)

    async def stop(self, iid: int) -> None:
        """Stop listening and drop open sessions (the "machine" went down)."""
        listener = self.listeners.pop(iid, None)
        if listener is None:
            return
        if listener.acceptor is not None:
            listener.acceptor.close()
            await listener.acceptor.wait_closed()
        for conn in list(listener.connections):
            conn.close()
        for conn in list(listener.connections):
            await conn.wait_closed()

    async def close(self) -> None:
        for iid in list(self.listeners):
            await self.stop(iid)


def _try_lock() -> Connection | None:
    """A dedicated autocommit connection holding the session-level lock, or None if taken."""
    conn = get_engine().connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        if conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar_one():
            return conn
    except Exception:
        conn.close()
        raise
    conn.close()
    return None


def _still_locked(conn: Connection) -> bool:
    try:
        conn.execute(text("SELECT 1")).scalar_one()
        return True
    except Exception:  # the connection died, and with it the lock
        return False


def _close_quietly(conn: Connection) -> None:
    try:
        conn.close()
    except Exception:
        log.debug("closing the lock connection failed", exc_info=True)


def _release(conn: Connection) -> None:
    try:
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
    except Exception:
        log.debug("releasing the simulated SSH lock failed", exc_info=True)
    _close_quietly(conn)


async def simulated_ssh_loop(interval: float = INTERVAL, manager: SimulatedSSH | None = None) -> None:
    """Lifespan task: hold the lock (or keep trying) and reconcile listeners every `interval` s."""
    manager = manager or SimulatedSSH()
    lock: Connection | None = None
    try:
        while True:
            try:
                if lock is not None and not await asyncio.to_thread(_still_locked, lock):
                    await manager.close()  # another process may take over now
                    await asyncio.to_thread(_close_quietly, lock)
                    lock = None
                if lock is None:
                    lock = await asyncio.to_thread(_try_lock)
                if lock is not None:
                    await manager.reconcile()
            except Exception:  # database restarting etc.: log and try again next tick
                log.exception("simulated SSH reconcile failed")
            await asyncio.sleep(interval)
    finally:
        await manager.close()
        if lock is not None:
            await asyncio.to_thread(_release, lock)


__all__ = ["DemoShell", "SimulatedSSH", "simulated_ssh_loop"]
