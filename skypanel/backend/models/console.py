"""The browser SSH console: single-use tickets and the sessions they opened.

A ticket is what a signed-in page hands its terminal to open the WebSocket: random, stored only as
a hash, valid 30 s, used once, bound to the user, the browser session and the server. A console
session row lives while the WebSocket is open: the limits count live rows (fresh `last_seen_at`,
so a crashed process's rows stop counting), and the end stays for the record.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from .base import ts, uuid_pk


class ConsoleTicket(SQLModel, table=True):
    __tablename__ = "console_tickets"

    id: uuid.UUID = uuid_pk()
    token_hash: str = Field(max_length=64, unique=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE")
    user_session_id: uuid.UUID = Field(foreign_key="user_sessions.id", ondelete="CASCADE")
    organization_id: uuid.UUID = Field(foreign_key="organizations.id", ondelete="CASCADE")
    server_id: uuid.UUID = Field(foreign_key="servers.id", ondelete="CASCADE", index=True)
    created_at: datetime = ts()
    expires_at: datetime = ts(index=True)
    used_at: datetime | None = ts(default_now=False)


class ConsoleSession(SQLModel, table=True):
    __tablename__ = "console_sessions"
    __table_args__ = (
        Index("ix_console_sessions_open_user", "user_id", postgresql_where="ended_at IS NULL"),
        Index("ix_console_sessions_open_server", "server_id", postgresql_where="ended_at IS NULL"),
    )

    id: uuid.UUID = uuid_pk()
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE")
    user_session_id: uuid.UUID | None = Field(default=None, foreign_key="user_sessions.id", ondelete="SET NULL")
    organization_id: uuid.UUID = Field(foreign_key="organizations.id", ondelete="CASCADE")
    server_id: uuid.UUID = Field(foreign_key="servers.id", ondelete="CASCADE")
    ip: str = Field(default="", max_length=64)
    started_at: datetime = ts()
    last_seen_at: datetime = ts()  # refreshed by the open session's watcher every few seconds
    ended_at: datetime | None = ts(default_now=False)
    close_reason: str = Field(default="", max_length=200)
    bytes_in: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    bytes_out: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
