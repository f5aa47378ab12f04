"""Benchmark: the browser console's WebSocket route against a local OpenSSH sshd, next to a direct
asyncssh session in the same run.

    .venv/bin/python benchmarks/console.py [--keystrokes 1000] [--megabytes 200] [--sessions 50]

Needs root and /usr/sbin/sshd (tests/contract/sshd.py starts one on loopback with a test user).
Builds a throwaway database (embedded PostgreSQL or TEST_DATABASE_URL's server) with one user,
browser session and server row pointing at the sshd, and serves the app's HTTP routes
(api/routes.py build_api, granian) in a child process so its memory can be measured alone. Prints:
- keystroke echo round trip p50/p99 over N keystrokes (one byte sent, wait for its echo; the
  shell runs `cat > /dev/null`, so the pty echoes), through the route and directly;
- throughput of `head -c 200M /dev/zero | base64` (MB/s of terminal output received, MB = 10^6
  bytes), through the route and directly;
- memory per open idle session: the server process's RSS growth with 50 consoles open / 50.
Targets (issue 5): p50 <= 5 ms, p99 <= 20 ms, route throughput >= half the direct one,
<= 2 MB per idle session.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SKYPANEL_ENV", "test")
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="skypanel-bench-"))
os.environ.setdefault("BCRYPT_ROUNDS", "4")

DONE = b"__DONE__\r\n"


def serve_child(database_url: str, port: int, username: str) -> None:
    """The child: the app's routes on 127.0.0.1:port until killed."""
    import logging

    from granian.constants import Interfaces
    from granian.server.embed import Server
    from sqlalchemy import create_engine

    from skypanel.backend import db as dbmod
    from skypanel.backend.api.routes import build_api
    from skypanel.backend.services import console

    logging.getLogger("asyncssh").setLevel(logging.WARNING)
    dbmod.set_engine(create_engine(database_url, pool_size=20, max_overflow=20))
    console.SSH_USERNAME = username
    server = Server(build_api(), address="127.0.0.1", port=port, interface=Interfaces.ASGINL, log_enabled=False)
    asyncio.run(server.serve())


def seed(info) -> dict:
    from skypanel.backend.db import session_scope
    from skypanel.backend.models import PlatformSetting, Server, User
    from skypanel.backend.models.servers import root_password_aad
    from skypanel.backend.security import encrypt
    from skypanel.backend.services import auth
    from skypanel.backend.services.context import Actor
    from tests.integration.factories import make_user, personal_org

    user_id, _ = make_user("bench@example.com", "Bench")
    org = personal_org(user_id)
    with session_scope() as s:
        user = s.get(User, user_id)
        token, row = auth._create_session(s, user, ip="127.0.0.1", user_agent="bench")
        actor = Actor(user_id=user_id, ip="127.0.0.1", user_agent="bench", session_id=row.id)
        server = Server(organization_id=org, provider_kind="simulated", provider_plan_id="bench", label="bench-1",
                        status="running", region="local", image="debian-12", ipv4=[info.host], ssh_port=info.port)
        s.add(server)
        s.flush()
        server.root_password_enc = encrypt(info.password, aad=root_password_aad(server.id))
        for key in ("console_sessions_per_user", "console_sessions_per_server"):
            s.add(PlatformSetting(key=key, value=100))
        return {"org": org, "token": token, "actor": actor, "server": str(server.id)}


async def open_console(base: str, w: dict):
    from skypanel.backend.config import get_settings
    from skypanel.backend.services import console
    from tests.contract.ws_client import WSClient

    ticket = (await asyncio.to_thread(console.mint_ticket, w["actor"], w["org"], w["server"], w["token"]))["ticket"]
    ws = await WSClient.connect(f"{base}/ws/console/{w['server']}?ticket={ticket}&cols=200&rows=50",
                                origin=get_settings().allowed_origins[0], cookie=f"sp_session={w['token']}")
    await ws.send_bytes(b"echo __RE''ADY__\n")
    await ws.read_until(b"__READY__\r\n", timeout=20)
    return ws


class RouteTerm:
    def __init__(self, ws) -> None:
        self.ws = ws

    async def send(self, data: bytes) -> None:
        await self.ws.send_bytes(data)

    async def read_until(self, needle: bytes, timeout: float = 60) -> int:
        """Bytes received up to `needle` (counted as they come, not kept)."""
        total, tail = 0, b""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            msg = await self.ws.recv(max(0.01, deadline - loop.time()))
            if isinstance(msg, str):
                continue
            total += len(msg)
            window = tail + msg
            if needle in window:
                return total
            tail = window[-len(needle):]


class DirectTerm:
    def __init__(self, proc) -> None:
        self.proc = proc

    async def send(self, data: bytes) -> None:
        self.proc.stdin.write(data)

    async def read_until(self, needle: bytes, timeout: float = 60) -> int:
        total, tail = 0, b""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            data = await asyncio.wait_for(self.proc.stdout.read(262144), max(0.01, deadline - loop.time()))
            if not data:
                raise EOFError
            total += len(data)
            window = tail + data
            if needle in window:
                return total
            tail = window[-len(needle):]


async def keystrokes(term, n: int) -> list[float]:
    await term.send(b"cat > /dev/null\n")
    await term.read_until(b"\n")  # the echoed command line
    try:  # and whatever the shell printed after it (escape sequences contain letters)
        while True:
            await term.read_until(b"\x00never", timeout=0.3)
    except (asyncio.TimeoutError, TimeoutError):
        pass
    times = []
    for i in range(n):
        ch = bytes([97 + i % 26])
        start = time.perf_counter()
        await term.send(ch)
        await term.read_until(ch)
        times.append((time.perf_counter() - start) * 1000)
        if i % 200 == 199:  # keep the line short
            await term.send(b"\n")
            await term.read_until(b"\n")
    await term.send(b"\x04")  # end cat
    await term.send(b"echo __DO''NE__\n")
    await term.read_until(DONE)
    return times


async def throughput(term, megabytes: int) -> tuple[float, int]:
    await term.send(f"head -c {megabytes}M /dev/zero | base64; echo __DO''NE__\n".encode())
    await term.read_until(b"__DO''NE__\r\n")  # the command line's echo
    start = time.perf_counter()
    total = await term.read_until(DONE, timeout=600)
    seconds = time.perf_counter() - start
    return total / seconds / 1e6, total


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def main_async(args, info, w, base, child) -> None:
    import asyncssh
    import psutil

    # direct asyncssh session (same pty settings as the bridge)
    async with asyncssh.connect(info.host, info.port, username=info.username, password=info.password,
                                known_hosts=None, client_keys=None, agent_path=None) as conn:
        proc = await conn.create_process(term_type="xterm-256color", term_size=(200, 50), encoding=None,
                                         stderr=asyncssh.STDOUT)
        direct = DirectTerm(proc)
        await direct.send(b"echo __RE''ADY__\n")
        await direct.read_until(b"__READY__\r\n")
        d_keys = await keystrokes(direct, args.keystrokes)
        d_mbps, d_total = await throughput(direct, args.megabytes)
        proc.close()

    ws = await open_console(base, w)
    route = RouteTerm(ws)
    r_keys = await keystrokes(route, args.keystrokes)
    r_mbps, r_total = await throughput(route, args.megabytes)
    await ws.close()

    await asyncio.sleep(1.0)
    child_proc = psutil.Process(child.pid)
    before = child_proc.memory_info().rss
    sessions = []
    for _ in range(args.sessions):
        sessions.append(await open_console(base, w))
    await asyncio.sleep(3.0)  # idle: a few watcher rounds
    after = child_proc.memory_info().rss
    for s in sessions:
        await s.close()

    per_session = (after - before) / args.sessions / 1e6
    print(f"keystroke echo round trip over {args.keystrokes} keystrokes:")
    print(f"  through /ws/console: p50 {pct(r_keys, 50):.2f} ms, p99 {pct(r_keys, 99):.2f} ms "
          f"(targets: p50 <= 5 ms, p99 <= 20 ms)")
    print(f"  direct asyncssh:     p50 {pct(d_keys, 50):.2f} ms, p99 {pct(d_keys, 99):.2f} ms")
    print(f"throughput of `head -c {args.megabytes}M /dev/zero | base64` ({r_total / 1e6:.0f} MB of terminal output):")
    print(f"  through /ws/console: {r_mbps:.1f} MB/s")
    print(f"  direct asyncssh:     {d_mbps:.1f} MB/s  -> route/direct = {r_mbps / d_mbps:.2f} (target >= 0.50)")
    print(f"memory per open idle session ({args.sessions} open): {per_session:.2f} MB "
          f"(server RSS {before / 1e6:.0f} -> {after / 1e6:.0f} MB; target <= 2 MB)")
    ok = (pct(r_keys, 50) <= 5 and pct(r_keys, 99) <= 20 and r_mbps >= d_mbps / 2 and per_session <= 2)
    print("targets met" if ok else "TARGETS MISSED")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keystrokes", type=int, default=1000)
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--serve", nargs=3, metavar=("DATABASE_URL", "PORT", "USER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_child(args.serve[0], int(args.serve[1]), args.serve[2])
        return

    from sqlalchemy import create_engine

    from skypanel.backend import db as dbmod
    from skypanel.backend.config import get_settings
    from skypanel.backend.testdb import temporary_database
    from tests.contract.server import _free_port
    from tests.contract.sshd import local_sshd, skip_reason

    reason = skip_reason()
    if reason:
        sys.exit(f"cannot run: {reason}")
    get_settings()  # generate the keys in DATA_DIR before the child reads them
    with temporary_database("skypanel_bench") as url, local_sshd() as (info, _):
        engine = create_engine(url)
        dbmod.set_engine(engine)
        w = seed(info)
        port = _free_port()
        child = subprocess.Popen([sys.executable, __file__, "--serve", url, str(port), info.username], env=os.environ)
        try:
            import httpx
            for _ in range(200):
                try:
                    httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            asyncio.run(main_async(args, info, w, f"ws://127.0.0.1:{port}", child))
        finally:
            child.terminate()
            child.wait(10)
            engine.dispose()


if __name__ == "__main__":
    main()
