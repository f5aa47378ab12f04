"""A small asyncio WebSocket client on wsproto (in the venv) for the console tests and benchmark.

Why our own: it must send any Origin and cookie, report the close code and reason, and stop
reading when asked (a slow browser) -- things a convenience client hides.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from urllib.parse import urlsplit

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection, BytesMessage, CloseConnection, Message, Ping, RejectConnection, Request, TextMessage,
)


class Closed(Exception):
    def __init__(self, code: int | None, reason: str):
        super().__init__(f"closed {code}: {reason}")
        self.code, self.reason = code, reason


class WSClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: WSConnection) -> None:
        self.reader, self.writer, self.conn = reader, writer, conn
        self.messages: deque[bytes | str] = deque()
        self.close_code: int | None = None
        self.close_reason = ""
        self._partial: dict[type, list] = {}

    @classmethod
    async def connect(cls, url: str, *, origin: str | None = None, cookie: str | None = None,
                      timeout: float = 10.0) -> "WSClient":
        parts = urlsplit(url)
        reader, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, parts.port), timeout)
        conn = WSConnection(ConnectionType.CLIENT)
        headers = []
        if origin:
            headers.append((b"Origin", origin.encode()))
        if cookie:
            headers.append((b"Cookie", cookie.encode()))
        target = parts.path + ("?" + parts.query if parts.query else "")
        writer.write(conn.send(Request(host=parts.netloc, target=target, extra_headers=headers)))
        await writer.drain()
        client = cls(reader, writer, conn)
        while True:
            data = await asyncio.wait_for(reader.read(65536), timeout)
            if not data:
                raise Closed(None, "connection closed during the handshake")
            conn.receive_data(data)
            for event in conn.events():
                if isinstance(event, AcceptConnection):
                    return client._absorb_rest()
                if isinstance(event, RejectConnection):
                    raise Closed(event.status_code, "rejected")

    def _absorb_rest(self) -> "WSClient":
        self._handle(self.conn.events())
        return self

    def _handle(self, events) -> None:
        for event in events:
            if isinstance(event, Message):
                parts = self._partial.setdefault(type(event), [])
                parts.append(event.data)
                if event.message_finished:
                    joined = (b"" if isinstance(event, BytesMessage) else "").join(parts)
                    self._partial[type(event)] = []
                    self.messages.append(joined)
            elif isinstance(event, Ping):
                self.writer.write(self.conn.send(event.response()))
            elif isinstance(event, CloseConnection):
                self.close_code, self.close_reason = event.code, event.reason or ""
                try:
                    self.writer.write(self.conn.send(event.response()))
                except Exception:
                    pass

    async def recv(self, timeout: float = 10.0) -> bytes | str:
        """The next message; raises Closed once the server closed and nothing is left."""
        while not self.messages:
            if self.close_code is not None:
                raise Closed(self.close_code, self.close_reason)
            data = await asyncio.wait_for(self.reader.read(262144), timeout)
            if not data:
                self.close_code = self.close_code or 1006
                raise Closed(self.close_code, self.close_reason)
            self.conn.receive_data(data)
            self._handle(self.conn.events())
        return self.messages.popleft()

    async def send_bytes(self, data: bytes) -> None:
        self.writer.write(self.conn.send(BytesMessage(data=data)))
        await self.writer.drain()

    async def send_text(self, text: str) -> None:
        self.writer.write(self.conn.send(TextMessage(data=text)))
        await self.writer.drain()

    async def send_json(self, payload) -> None:
        await self.send_text(json.dumps(payload))

    async def read_until(self, needle: bytes, timeout: float = 10.0) -> tuple[bytes, list[dict]]:
        """Terminal output up to and including `needle`, and the control messages seen meanwhile."""
        out, controls = b"", []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while needle not in out:
            msg = await self.recv(max(0.01, deadline - loop.time()))
            if isinstance(msg, bytes):
                out += msg
            else:
                controls.append(json.loads(msg))
        return out, controls

    async def until_closed(self, timeout: float = 10.0) -> tuple[int | None, str, list[dict], bytes]:
        """Read until the server closes: (code, reason, control messages, output bytes)."""
        controls, out = [], b""
        try:
            while True:
                msg = await self.recv(timeout)
                if isinstance(msg, bytes):
                    out += msg
                else:
                    controls.append(json.loads(msg))
        except Closed as closed:
            return closed.code, closed.reason, controls, out

    async def close(self, code: int = 1000) -> None:
        try:
            self.writer.write(self.conn.send(CloseConnection(code=code)))
            await self.writer.drain()
        except Exception:
            pass
        self.writer.close()
