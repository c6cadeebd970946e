"""One open Server-Sent Events stream: how a message is encoded, and the stream's small bounded queue.

A stream that falls behind (a slow or stalled client) drops its queue and is marked stale; the next thing
written to it is a fresh snapshot instead of the stale changes (see ``live.py``, which writes it out).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import orjson

from hallctl.core.model import Role

# What one stream may hold unsent. A page that cannot keep up with this many messages is better served
# by a fresh snapshot; the bound is what keeps a stalled client's memory small.
STREAM_QUEUE = 64


def sse(event: str, data: Any, event_id: int) -> bytes:
    """One Server-Sent Event. orjson never writes a raw newline, so ``data`` stays on one line."""
    body = orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event_id, event.encode(), body)


class Stream:
    """One open stream: what it shows, and its bounded queue of encoded messages."""

    __slots__ = (
        "clerk",
        "closed",
        "last_desk",
        "last_waiting",
        "queue",
        "ready",
        "role",
        "stale",
        "ticket",
        "token",
        "view",
        "window",
    )

    def __init__(
        self,
        view: str,
        *,
        token: str | None = None,
        role: Role | None = None,
        clerk: str | None = None,
        ticket: int | None = None,
    ) -> None:
        self.view = view  # board, dashboard, clerk or phone
        self.token = token
        self.role = role
        self.clerk = clerk
        self.ticket = ticket  # the phone's ticket id
        self.window: int | None = None  # the clerk's window, as last sent
        self.last_waiting: int | None = None  # the clerk's waiting count, as last sent
        self.last_desk = b""  # the clerk's desk, as last sent (a command's second event changes nothing)
        self.queue: deque[bytes] = deque()
        self.ready = asyncio.Event()
        self.stale = False  # messages were dropped: the next thing sent is a fresh snapshot
        self.closed = False

    def push(self, chunk: bytes) -> None:
        if self.closed or self.stale:
            return  # a stale stream's next message is a snapshot, which holds this change too
        if len(self.queue) >= STREAM_QUEUE:
            self.stale = True
            self.queue.clear()
        else:
            self.queue.append(chunk)
        self.ready.set()

    def close(self) -> None:
        self.closed = True
        self.ready.set()
