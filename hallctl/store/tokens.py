"""API tokens: shown once when created, stored only as a SHA-256 hash, looked up by that hash."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from hallctl.core.model import Actor, Role

#: Roles a token may have (``system`` is the daemon's own and never a token's).
TOKEN_ROLES = tuple(r.value for r in Role if r is not Role.SYSTEM)


class TokenError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    role: Role
    clerk: str | None
    name: str
    created_at: float
    revoked_at: float | None

    def actor(self) -> Actor:
        return Actor(self.role, self.name or f"{self.role.value}#{self.id}", self.clerk)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(conn: sqlite3.Connection, role: str, *, clerk: str | None = None, name: str = "") -> str:
    """Store a new token's hash and return the token itself, which is never stored."""
    if role not in TOKEN_ROLES:
        raise TokenError(f"unknown role {role!r}; one of {', '.join(TOKEN_ROLES)}")
    if role == "clerk" and not clerk:
        raise TokenError("a clerk token needs --clerk ID")
    if role != "clerk" and clerk:
        raise TokenError("--clerk is only for clerk tokens")
    token = f"hc_{secrets.token_urlsafe(24)}"
    conn.execute(
        "insert into tokens (hash, role, clerk, name, created_at) values (?, ?, ?, ?, ?)",
        (token_hash(token), role, clerk, name, time.time()),
    )
    return token


def _info(row: tuple[Any, ...]) -> TokenInfo:
    id_, role, clerk, name, created_at, revoked_at = row
    return TokenInfo(
        int(id_),
        Role(role),
        clerk,
        str(name),
        float(created_at),
        None if revoked_at is None else float(revoked_at),
    )


def lookup(conn: sqlite3.Connection, token: str) -> TokenInfo | None:
    row = conn.execute(
        "select id, role, clerk, name, created_at, revoked_at from tokens where hash = ?",
        (token_hash(token),),
    ).fetchone()
    return None if row is None else _info(row)


def list_tokens(conn: sqlite3.Connection) -> list[TokenInfo]:
    rows = conn.execute("select id, role, clerk, name, created_at, revoked_at from tokens order by id")
    return [_info(r) for r in rows]


def revoke(conn: sqlite3.Connection, token_id: int) -> bool:
    cur = conn.execute(
        "update tokens set revoked_at = ? where id = ? and revoked_at is null", (time.time(), token_id)
    )
    return cur.rowcount == 1
