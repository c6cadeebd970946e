"""The access record at the web edge: which client address each token is used from, and the requests a
token made to endpoints its role may not use (403 role_forbidden).

The endpoint rules of the audit (hallctl/audit/rules_access.py) read it. Recording must cost a request
next to nothing, so it is a dict update in memory; a background task hands the batch to the group-commit
writer every ``[audit.access] flush_seconds`` (and once more on stop), where it shares the next
transaction with the hall's commands. Memory and the tables are bounded: the oldest entries are dropped.
A refused request is never journaled and touches no other table (tests/integration/test_bad_input.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from aiohttp import web

from hallctl.audit.access_log import INSERT_REFUSAL, TRIM_ADDRESSES, TRIM_REFUSALS, UPSERT_ADDRESS
from hallctl.config_audit import Access
from hallctl.store.rows import Op
from hallctl.store.tokens import TokenInfo
from hallctl.store.writer import StoreError, Writer

log = logging.getLogger(__name__)

# Distinct (token, address) pairs and refusals held between two writes. A hall has tens of tokens at a
# few addresses each, so this only binds under a flood (a token hammering forbidden endpoints): then the
# oldest go first, and what is kept is still ample evidence. Higher costs memory; lower loses evidence.
MAX_PENDING = 5_000
# Remote addresses (is it a trusted proxy?) and X-Forwarded-For headers (whose client?) whose answer is
# remembered: parsing them costs 1-4 microseconds a request otherwise. A hall has a few of each.
MAX_REMEMBERED = 1_024

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def normal_address(text: str) -> str:
    """An address as the record keeps it: an IPv4 address seen on an IPv6 socket (``::ffff:10.1.0.7``)
    is the IPv4 address, so the same kiosk is one address whichever socket it reached."""
    if text.startswith("::ffff:") and "." in text:
        return text[7:]
    return text


def forwarded_client(header: str, trusted: tuple[Network, ...]) -> str | None:
    """The client in an ``X-Forwarded-For`` chain (``client, proxy1, proxy2``): the rightmost entry that
    is not itself a trusted proxy (anything left of it could have been written by the client). None when
    an entry does not parse: the header is then not believed."""
    hops = [h.strip() for h in header.split(",") if h.strip()]
    for hop in reversed(hops):
        try:
            ip = ipaddress.ip_address(normal_address(hop))
        except ValueError:
            return None
        if not any(ip in net for net in trusted):
            return str(ip)
    return normal_address(hops[0]) if hops else None


@dataclass(slots=True)
class _Use:
    role: str
    name: str
    first_seen: float
    last_seen: float
    uses: int = 1


class AccessRecorder:
    """``async with AccessRecorder(settings, writer, clock):`` records in memory, writes in batches."""

    def __init__(self, settings: Access, writer: Writer, clock: Callable[[], float]) -> None:
        self.settings = settings
        self._writer = writer
        self._clock = clock
        self._trusted = tuple(ipaddress.ip_network(n) for n in settings.trusted_proxies)
        self._is_proxy: dict[str, bool] = {}
        self._forwarded: dict[str, str] = {}
        # (token id, address) -> its use since the last write
        self._uses: dict[tuple[int, str], _Use] = {}
        # (at, token id, role, name, address, endpoint), since the last write; the oldest fall off
        self._refusals: deque[tuple[float, int, str, str, str, str]] = deque(maxlen=MAX_PENDING)
        self._written: set[tuple[int, str]] = set()  # pairs already in the table (this run)
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0  # uses and refusals dropped because too many waited to be written

    async def __aenter__(self) -> AccessRecorder:
        self._task = asyncio.create_task(self._write_every(self.settings.flush_seconds), name="access-log")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()

    # -- on the request path ------------------------------------------------------------------------
    def address_of(self, request: web.Request) -> str:
        """The client's address: the socket's peer, or, behind a trusted proxy, the client it forwarded."""
        remote = normal_address(request.remote or "unknown")
        if not self._trusted:
            return remote
        header = request.headers.get("X-Forwarded-For")
        if header is None or not self._proxy(remote):
            return remote
        client = self._forwarded.get(header)
        if client is None:
            client = forwarded_client(header, self._trusted) or ""  # "": not believed
            if len(self._forwarded) >= MAX_REMEMBERED:
                self._forwarded.clear()
            self._forwarded[header] = client
        return client or remote

    def _proxy(self, remote: str) -> bool:
        known = self._is_proxy.get(remote)
        if known is None:
            try:
                ip = ipaddress.ip_address(remote)
                known = any(ip in net for net in self._trusted)
            except ValueError:
                known = False
            if len(self._is_proxy) >= MAX_REMEMBERED:
                self._is_proxy.clear()
            self._is_proxy[remote] = known
        return known

    def record(self, request: web.Request, info: TokenInfo, endpoint: str, *, forbidden: bool) -> None:
        """A request made with ``info``'s token; ``forbidden``: refused, the role may not use ``endpoint``."""
        now = self._clock()
        address = self.address_of(request)
        key = (info.id, address)
        use = self._uses.get(key)
        if use is None:
            if len(self._uses) >= MAX_PENDING:
                del self._uses[next(iter(self._uses))]  # the oldest pair waiting
                self.dropped += 1
            self._uses[key] = _Use(info.role.value, info.actor().label, now, now)
        else:
            use.last_seen = now
            use.uses += 1
        if forbidden:
            if len(self._refusals) == MAX_PENDING:
                self.dropped += 1
            self._refusals.append((now, info.id, info.role.value, info.actor().label, address, endpoint))

    # -- writing ------------------------------------------------------------------------------------
    def _ops(self) -> list[Op]:
        ops: list[Op] = []
        new_pairs = False
        for (token_id, address), u in self._uses.items():
            ops.append(
                (UPSERT_ADDRESS, (token_id, address, u.role, u.name, u.first_seen, u.last_seen, u.uses))
            )
            new_pairs = new_pairs or (token_id, address) not in self._written
        if new_pairs:  # only a new pair can take the table over its limit
            ops.append((TRIM_ADDRESSES, (self.settings.max_addresses,)))
            if len(self._written) > self.settings.max_addresses:
                self._written.clear()
            self._written.update(self._uses)
        ops += [(INSERT_REFUSAL, r) for r in self._refusals]
        if self._refusals:
            ops.append((TRIM_REFUSALS, (self.settings.max_refusals,)))
        self._uses = {}
        self._refusals.clear()
        return ops

    async def flush(self) -> None:
        """Hand what was recorded to the writer and wait until it is committed (or has failed: the record
        is a log, so a batch lost to a failing disk is logged and not retried)."""
        ops = self._ops()
        if not ops:
            return
        try:
            await self._writer.submit(ops)
        except StoreError as exc:
            log.warning("the access record's batch of %d rows was not written: %s", len(ops), exc)

    async def _write_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            await self.flush()


ACCESS: web.AppKey[AccessRecorder] = web.AppKey("access", AccessRecorder)


def setup_access(app: web.Application, settings: Access, writer: Writer, clock: Callable[[], float]) -> None:
    """Record token use for an app made by ``create_app``; written while the app runs, and on its stop."""
    app[ACCESS] = AccessRecorder(settings, writer, clock)

    async def run(app: web.Application) -> AsyncIterator[None]:
        async with app[ACCESS]:
            yield

    app.cleanup_ctx.append(run)
