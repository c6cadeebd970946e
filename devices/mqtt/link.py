"""The daemon's one connection to the MQTT broker, kept up by its own reconnect loop.

aiomqtt does not reconnect by itself: after a broker restart its publishes keep failing. This link wraps
it in a loop with backoff, subscribes again after every reconnect, and republishes the latest retained
state of every topic it owns (window displays, the hall board, its own status), so a broker that lost
everything (no persistence) is whole again within a second or two of coming back. Messages that are
not state (announcements) wait in a bounded queue while the broker is away and go out after it returns.

The daemon's own availability is ``hallctl/{hall}/status``: retained ``online`` on connect, ``offline``
as the last will (a crash) and published by hand on a clean stop (a clean disconnect sends no will).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urlparse

import aiomqtt

log = logging.getLogger(__name__)

# Reconnect backoff. The first retry is quick so a restarted broker heals in well under the hall's 5 s
# promise; the cap keeps a broker that is down for long from being hammered, while staying short
# enough that the displays come back within about a cap's time after it returns.
BACKOFF_FIRST = 0.1
BACKOFF_CAP = 1.0
# Announcements held while the broker is away. Beyond this, the oldest go: a hall that has been without
# a broker for this many calls is better served by the newest ones than by a burst of stale calls.
MAX_PENDING_MESSAGES = 1000
# How long one publish may take before the connection is taken for dead.
PUBLISH_TIMEOUT = 5.0

MessageHandler = Callable[[str, bytes], Awaitable[None]]


class MqttUrlError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        parsed = urlparse(url)
        if parsed.scheme != "mqtt" or not parsed.hostname:
            raise MqttUrlError(f"{url!r}: expected mqtt://HOST[:PORT]")
        return cls(parsed.hostname, parsed.port or 1883)


class MqttLink:
    """``async with MqttLink(address, root="hallctl/hall-1", ...) as link: link.set_retained(...)``."""

    def __init__(
        self,
        address: BrokerAddress,
        *,
        root: str,
        client_id: str,
        username: str | None = None,
        password: str | None = None,
        subscriptions: tuple[str, ...] = (),
        on_message: MessageHandler | None = None,
    ) -> None:
        if root.endswith("/") or not root:
            raise ValueError("root is a topic prefix without a trailing slash")
        self.address = address
        self.root = root
        self._client_id = client_id
        self._username = username
        self._password = password
        self._subscriptions = subscriptions
        self._on_message = on_message
        self._retained: dict[str, bytes] = {}
        self._dirty: dict[
            str, None
        ] = {}  # retained topics to (re)publish, in order; a dict is an ordered set
        self._messages: deque[tuple[str, bytes, int]] = deque(maxlen=MAX_PENDING_MESSAGES)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client: aiomqtt.Client | None = None
        self.connected = asyncio.Event()
        self.connects = 0
        self.drops = 0  # connections lost (a session that had connected and ended)
        self.published = 0
        self.dropped = 0
        self.last_error = ""
        self.last_connected_at: float | None = None

    @property
    def status_topic(self) -> str:
        return f"{self.root}/status"

    # -- life cycle ---------------------------------------------------------------------------------
    async def __aenter__(self) -> MqttLink:
        self._task = asyncio.create_task(
            self._run(), name=f"mqtt-link {self.address.host}:{self.address.port}"
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        client = self._client
        if client is not None:
            with contextlib.suppress(Exception):
                await client.publish(self.status_topic, b"offline", qos=1, retain=True, timeout=1.0)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    # -- what the daemon publishes ------------------------------------------------------------------
    def set_retained(self, topic: str, payload: bytes) -> None:
        """The state of a topic now (retained). Only the latest is sent, and it is sent again after every
        reconnect. ``topic`` is below the root (``window/3/display``)."""
        full = f"{self.root}/{topic}"
        if self._retained.get(full) == payload:
            return
        self._retained[full] = payload
        self._dirty[full] = None
        self._wake.set()

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        """A message that is not state (an announcement): queued, sent once, held while the broker is away."""
        if len(self._messages) == self._messages.maxlen:
            self.dropped += 1
        self._messages.append((f"{self.root}/{topic}", payload, qos))
        self._wake.set()

    def retained(self, topic: str) -> bytes | None:
        return self._retained.get(f"{self.root}/{topic}")

    # -- the loop -----------------------------------------------------------------------------------
    async def _run(self) -> None:
        backoff = BACKOFF_FIRST
        while True:
            connects = self.connects
            try:
                await self._session()
            except* (aiomqtt.MqttError, OSError) as lost:  # the session's tasks raise in a group
                self.last_error = "; ".join(str(e) for e in lost.exceptions)
                log.warning("MQTT %s:%d: %s", self.address.host, self.address.port, self.last_error)
            finally:
                if self.connects > connects:
                    self.drops += 1  # counted before the event clears, so a watcher never misses one
                self.connected.clear()
                self._client = None
            # A session that got connected starts the backoff afresh; repeated failures double it.
            backoff = BACKOFF_FIRST if self.connects > connects else min(backoff * 2, BACKOFF_CAP)
            await asyncio.sleep(backoff)

    async def _session(self) -> None:
        will = aiomqtt.Will(self.status_topic, b"offline", qos=1, retain=True)
        async with aiomqtt.Client(
            self.address.host,
            self.address.port,
            username=self._username,
            password=self._password,
            identifier=self._client_id,
            will=will,
            keepalive=10,
            timeout=PUBLISH_TIMEOUT,
        ) as client:
            self._client = client
            await client.publish(self.status_topic, b"online", qos=1, retain=True)
            for topic in self._subscriptions:
                await client.subscribe(f"{self.root}/{topic}", qos=1)
            # The broker may have lost everything: every state goes out again, in the order it was set.
            # The sender is woken for it: with nothing new since the outage nobody else would wake it, and
            # the displays would stay blank until the next call.
            self._dirty = dict.fromkeys(self._retained)
            self._wake.set()
            self.connects += 1
            self.last_connected_at = time.time()
            self.connected.set()
            log.info(
                "MQTT connected to %s:%d (connection %d)", self.address.host, self.address.port, self.connects
            )
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._send(client), name="mqtt-send")
                tasks.create_task(self._receive(client), name="mqtt-receive")

    async def _send(self, client: aiomqtt.Client) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._dirty or self._messages:
                if self._dirty:
                    topic = next(iter(self._dirty))
                    sent = self._retained[topic]
                    await client.publish(topic, sent, qos=1, retain=True, timeout=PUBLISH_TIMEOUT)
                    # Taken off only once sent, and only if no newer state came meanwhile; if the
                    # connection dies first, the reconnect sends it again.
                    if self._retained[topic] is sent:
                        self._dirty.pop(topic, None)
                else:
                    topic, payload, qos = self._messages[0]
                    await client.publish(topic, payload, qos=qos, timeout=PUBLISH_TIMEOUT)
                    self._messages.popleft()
                self.published += 1

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            if self._on_message is None:
                continue
            payload = message.payload if isinstance(message.payload, bytes) else b""
            try:
                await self._on_message(str(message.topic), payload)
            except Exception:  # a bad message must never take the link down
                log.exception("handling MQTT message on %s failed", message.topic)
