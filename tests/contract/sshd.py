"""A real OpenSSH sshd on loopback for the console tests and benchmark.

Debian's /usr/sbin/sshd with a throwaway config and ed25519 host key in a temporary directory, on
a free port of 127.0.0.1, `UsePAM no`, password login for one dedicated local user (created once
with useradd, password set with chpasswd: needs root). Root login stays off.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SSHD = "/usr/sbin/sshd"
USER = "skypanel-console-test"
PASSWORD = "Console-Test-Pass-4711"


@dataclass
class LocalSSHD:
    host: str
    port: int
    username: str
    password: str
    host_key_path: Path
    workdir: Path

    def host_public_key(self) -> str:
        return " ".join(Path(str(self.host_key_path) + ".pub").read_text().split()[:2])

    def regenerate_host_key(self) -> None:
        """A new host key (as a reinstall or an attacker would present); takes effect on restart."""
        for p in (self.host_key_path, Path(str(self.host_key_path) + ".pub")):
            p.unlink(missing_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", str(self.host_key_path)],
                       check=True)


def skip_reason() -> str | None:
    if not os.path.exists(SSHD):
        return f"{SSHD} is missing (make test installs Debian's openssh-server)"
    if os.geteuid() != 0:
        return "starting sshd with a password user needs root"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ensure_user() -> None:
    if subprocess.run(["id", USER], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", USER], check=True)
    subprocess.run(["chpasswd"], input=f"{USER}:{PASSWORD}\n", text=True, check=True)


def _wait_listening(port: int, proc: subprocess.Popen, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited: {proc.stderr.read() if proc.stderr else ''}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError("sshd did not start listening")


class SSHDProcess:
    def __init__(self, workdir: Path, port: int) -> None:
        self.workdir, self.port = workdir, port
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.workdir / "sshd_config")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _wait_listening(self.port, self.proc)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


@contextlib.contextmanager
def local_sshd() -> Iterator[tuple[LocalSSHD, SSHDProcess]]:
    _ensure_user()
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation directory
    workdir = Path(tempfile.mkdtemp(prefix="skypanel-sshd-"))
    key = workdir / "ssh_host_ed25519_key"
    port = _free_port()
    info = LocalSSHD("127.0.0.1", port, USER, PASSWORD, key, workdir)
    info.regenerate_host_key()
    (workdir / "sshd_config").write_text(f"""\
Port {port}
ListenAddress 127.0.0.1
HostKey {key}
PidFile {workdir}/sshd.pid
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication no
PermitRootLogin no
AllowUsers {USER}
AuthorizedKeysFile none
UseDNS no
PrintMotd no
PrintLastLog no
MaxSessions 200
MaxStartups 200:30:400
LogLevel ERROR
""")
    proc = SSHDProcess(workdir, port)
    proc.start()
    try:
        yield info, proc
    finally:
        proc.stop()
        shutil.rmtree(workdir, ignore_errors=True)
