"""The hub of the pages' live stream: one :class:`LiveHub` listens on the event bus for the whole app
and turns each committed event into the messages each kind of page needs (the content comes from
``live_views.py``). A message is encoded once and handed to every stream that wants it; aggregates (waiting
counts, people ahead, the dashboard's figures) are coalesced on a tick; a heartbeat keeps streams open and
re-checks their tokens. Every message carries the state it describes (not a delta), so applying one twice
is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType

import orjson

from hallctl.bus import Subscription
from hallctl.core.model import Event
from hallctl.hub.hub import DeviceHub
from hallctl.service import HallService
from hallctl.web.live_stream import Stream, sse
from hallctl.web.live_views import PageViews

log = logging.getLogger(__name__)

# Aggregates (waiting counts, people ahead) go out at most this often; a call goes out at once. Lower
# costs CPU on a kiosk burst (every ticket changes the counts); higher makes the counts lag behind.
TICK = 0.25
# A citizen's "people ahead" is recomputed at most this often: it is the costliest message per stream,
# and nobody reads a count faster than once a second.
PHONE_INTERVAL = 1.0
# The dashboard's figures (hall_stats walks today's tickets) at most this often when something changed,
# and at least this often anyway, because the longest wait grows while nothing happens.
STATS_INTERVAL = 1.0
STATS_REFRESH = 10.0
# Device health has no events (it is seen, or not, by the device hub): it is looked at this often.
DEVICES_INTERVAL = 2.0
# A comment line this often keeps proxies and NAT boxes from closing an idle stream, finds dead clients
# (a write to a closed socket fails) and re-checks that the token is still valid.
HEARTBEAT = 15.0


@dataclass(slots=True)
class _Timer:
    """When something periodic last ran (monotonic seconds)."""

    every: float
    last: float = 0.0

    def due(self, now: float) -> bool:
        if now - self.last >= self.every:
            self.last = now
            return True
        return False


class LiveHub:
    """``async with LiveHub(service, hub)``: listens on the bus and feeds every open stream."""

    def __init__(self, service: HallService, hub: DeviceHub | None = None) -> None:
        self.service = service
        self.hub = hub
        self.views = PageViews(service, hub)
        self.seq = 0  # the id of the last message built: the count of bus events seen since start
        self.streams: set[Stream] = set()
        self._by_view: dict[str, set[Stream]] = {"board": set(), "dashboard": set(), "clerk": set()}
        self._phones: dict[int, set[Stream]] = {}
        self._phone_sent: dict[int, bytes] = {}  # ticket id -> its last view sent (unchanged: not resent)
        self._queue_dirty = False  # the queues changed: counts and people ahead are due
        self._phones_dirty = False
        self._stats_dirty = False
        self._waiting_version = 0
        self._board_cache: tuple[tuple[int, int, int], bytes] | None = None
        self._devices_sent = b""
        self._phone_timer = _Timer(PHONE_INTERVAL)
        self._stats_timer = _Timer(STATS_INTERVAL)
        self._stats_refresh = _Timer(STATS_REFRESH)
        self._devices_timer = _Timer(DEVICES_INTERVAL)
        self._heartbeat_timer = _Timer(HEARTBEAT)
        self._subscription: Subscription | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self._ticker_task: asyncio.Task[None] | None = None
        self.resyncs = 0  # times the hub's own bus queue overflowed and every stream was resynced

    # -- life cycle ---------------------------------------------------------------------------------
    async def __aenter__(self) -> LiveHub:
        now = time.monotonic()
        for timer in (self._stats_refresh, self._devices_timer, self._heartbeat_timer):
            timer.last = now
        self._ticker_task = asyncio.create_task(self._ticker(), name="live-ticks")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close_all()
        self._unsubscribe()
        tasks = [t for t in (self._ticker_task, self._pump_task) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _subscribe(self) -> None:
        """Listen on the bus while at least one stream is open: with no page open it costs nothing."""
        if self._subscription is not None:
            return
        self._subscription = self.service.bus.subscribe()
        self.views.rebuild_recent()
        self._pump_task = asyncio.create_task(self._pump(self._subscription), name="live-events")

    def _unsubscribe(self) -> None:
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None
        if self._pump_task is not None:
            self._pump_task.cancel()
            self._pump_task = None

    def close_all(self) -> None:
        """End every stream (the daemon is stopping): their handlers return at once."""
        for stream in list(self.streams):
            stream.close()

    # -- streams come and go ------------------------------------------------------------------------
    def open(self, stream: Stream) -> None:
        """Register a stream and queue its snapshot first: everything pushed later is newer."""
        self._subscribe()
        self.streams.add(stream)
        if stream.view == "phone":
            assert stream.ticket is not None
            self._phones.setdefault(stream.ticket, set()).add(stream)
        else:
            self._by_view[stream.view].add(stream)
        stream.push(self.snapshot(stream))

    def close(self, stream: Stream) -> None:
        stream.closed = True
        self.streams.discard(stream)
        if stream.view == "phone" and stream.ticket is not None:
            phones = self._phones.get(stream.ticket)
            if phones is not None:
                phones.discard(stream)
                if not phones:
                    del self._phones[stream.ticket]
                    self._phone_sent.pop(stream.ticket, None)
        else:
            self._by_view[stream.view].discard(stream)
        if not self.streams:
            self._unsubscribe()

    def phone_streams(self, ticket_id: int) -> int:
        return len(self._phones.get(ticket_id, ()))

    # -- snapshots ----------------------------------------------------------------------------------
    def snapshot(self, stream: Stream) -> bytes:
        if stream.view == "board":
            # Shared by every board that connects within the same second with nothing changed (a
            # thousand boards reconnecting after a restart build it once); a second so ``now`` stays true.
            key = (self.seq, self._waiting_version, int(time.monotonic()))
            if self._board_cache is None or self._board_cache[0] != key:
                self._board_cache = (key, sse("snapshot", self.views.board_snapshot(), self.seq))
            return self._board_cache[1]
        if stream.view == "dashboard":
            return sse("snapshot", self.views.dashboard_snapshot(), self.seq)
        if stream.view == "clerk":
            assert stream.clerk is not None
            desk = self.views.desk(stream.clerk)
            stream.window = desk["window"]["id"] if desk["window"] else None
            stream.last_waiting = desk["waiting"]
            stream.last_desk = orjson.dumps(desk)
            return sse("snapshot", self.views.clerk_snapshot(stream.clerk, desk), self.seq)
        assert stream.ticket is not None
        return sse("snapshot", self.views.phone_snapshot(stream.ticket), self.seq)

    # -- events in, messages out --------------------------------------------------------------------
    async def _pump(self, subscription: Subscription) -> None:
        while True:
            event = await subscription.get()
            if subscription.overflowed:
                # Events were lost: no stream can be brought up to date by messages any more.
                subscription.overflowed = False
                self.resyncs += 1
                self.views.rebuild_recent()
                for stream in self.streams:
                    stream.stale = True
                    stream.ready.set()
            try:
                self._handle(event)
            except Exception:  # one bad event must not end every page's stream
                log.exception("live stream failed on %s", event.kind)

    def _push(self, streams: Iterable[Stream], chunk: bytes) -> None:
        for stream in streams:
            stream.push(chunk)

    def _handle(self, event: Event) -> None:
        self.seq += 1
        seq = self.seq
        if event.kind == "forecast.updated":  # new expected waits: phones refresh, nothing else changed
            self._phones_dirty = True
            return
        state = self.service.state
        staff = (*self._by_view["board"], *self._by_view["dashboard"], *self._by_view["clerk"])
        ticket = event.ticket
        touched: set[int] = set()
        if event.window is not None:
            touched.add(event.window["id"])
        if ticket is not None:
            touched.update(w for w in (ticket.get("window"), ticket.get("target_window")) if w is not None)

        if event.kind in ("ticket.called", "ticket.recalled") and ticket is not None and event.window:
            call = self.views.record_call(event, seq)
            self._push((*self._by_view["board"], *self._by_view["dashboard"]), sse("call", call, seq))
        for window_id in sorted(touched):
            window = self.views.window(window_id)
            if window is not None:
                self._push(staff, sse("window", window, seq))

        if event.kind.startswith("ticket."):
            self._queue_dirty = True
        self._stats_dirty = True

        for stream in self._by_view["clerk"]:
            assert stream.clerk is not None
            mine = state.window_of_clerk(stream.clerk)
            at = mine.id if mine is not None else None
            if at != stream.window or at in touched:
                desk = self.views.desk(stream.clerk)
                body = orjson.dumps(desk)
                if body != stream.last_desk:
                    stream.window, stream.last_waiting, stream.last_desk = at, desk["waiting"], body
                    stream.push(sse("desk", desk, seq))
            if event.kind == "rating.rated" and at is not None and event.detail.get("window") == at:
                stream.push(sse("rating", self.views.rating(event, at), seq))

        if ticket is not None and ticket["id"] in self._phones:
            self._send_phone(ticket["id"], seq)

    def _send_phone(self, ticket_id: int, seq: int) -> None:
        view = self.views.phone_view(ticket_id)
        body = orjson.dumps(view)
        if self._phone_sent.get(ticket_id) == body:
            return
        self._phone_sent[ticket_id] = body
        self._push(self._phones.get(ticket_id, ()), sse("ticket", view, seq))

    # -- the periodic part: aggregates, devices, heartbeats -----------------------------------------
    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            try:
                self._tick(time.monotonic())
            except Exception:
                log.exception("live stream tick failed")

    def _tick(self, now: float) -> None:
        seq = self.seq
        if self._queue_dirty:
            self._queue_dirty = False
            self._phones_dirty = True
            self._waiting_version += 1
            if self._by_view["board"]:
                self._push(self._by_view["board"], sse("waiting", self.views.waiting(), seq))
            clock = self.service.clock()
            for stream in self._by_view["clerk"]:
                if stream.window is None or stream.window not in self.service.state.windows:
                    continue
                waiting = self.service.state.waiting_for(stream.window, clock)
                if waiting != stream.last_waiting:
                    stream.last_waiting = waiting
                    stream.push(sse("waiting", {"window": stream.window, "waiting": waiting}, seq))
        if self._phones_dirty and self._phone_timer.due(now):
            self._phones_dirty = False
            for ticket_id in list(self._phones):
                self._send_phone(ticket_id, seq)
        dashboards = self._by_view["dashboard"]
        if dashboards and (
            (self._stats_dirty and self._stats_timer.due(now)) or self._stats_refresh.due(now)
        ):
            self._stats_dirty = False
            self._stats_refresh.last = now
            self._push(dashboards, sse("stats", self.views.stats(), seq))
        if dashboards and self.hub is not None and self._devices_timer.due(now):
            devices = self.views.devices()
            body = orjson.dumps(devices)
            if body != self._devices_sent:
                self._devices_sent = body
                self._push(dashboards, sse("devices", {"devices": devices}, seq))
        if self._heartbeat_timer.due(now):
            # A comment for proxies, and a ``ping`` the page sees (EventSource hides comments): a page that
            # hears nothing for a few beats knows its stream is dead and opens a new one. It carries the
            # daemon's clock, which the board shows.
            beat = b": heartbeat\nevent: ping\ndata: %s\n\n" % orjson.dumps({"now": self.service.clock()})
            for stream in list(self.streams):
                if stream.token is not None and self.service.authenticate(stream.token) is None:
                    # Revoked while open: say so, then end; the page's reconnect then gets a 401.
                    stream.push(sse("revoked", {"code": "bad_token"}, seq))
                    stream.close()
                else:
                    stream.push(beat)
