"""The live stream the pages listen on (Server-Sent Events): on connect, a snapshot of what the caller may
see; then the changes, pushed as they are committed.

One :class:`LiveHub` listens on the event bus for the whole app and turns each committed event into the
messages each kind of page needs (board, dashboard, clerk desk, a citizen's own ticket). A message is
encoded once and handed to every stream that wants it; each stream has a small bounded queue, and one that
falls behind (a slow or stalled client) drops its queue and gets a fresh snapshot instead of stale changes.
Every message carries the state it describes (not a delta), so applying one twice is harmless.

Two routes, kept out of the OpenAPI document (a stream is not a JSON operation; docs/pages.md describes it):

- ``GET /api/v1/live`` for staff and boards: ``Authorization: Bearer TOKEN`` or ``?token=TOKEN`` (the
  browser's EventSource cannot set headers); ``?view=board|dashboard|clerk`` where the role allows more
  than one.
- ``GET /api/v1/track/{track_token}/live`` for the citizen's phone: that ticket alone, nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import orjson
from aiohttp import web

from hallctl.audit import followups
from hallctl.bus import Subscription
from hallctl.core.calendar import business_day, iso
from hallctl.core.model import QUEUED, Event, Role, Ticket, TicketState
from hallctl.core.state import HallState
from hallctl.core.stats import hall_stats
from hallctl.forecast.board import ticket_eta
from hallctl.hub.hub import DeviceHub
from hallctl.hub.screens import board
from hallctl.service import HallService
from hallctl.web.access import ACCESS
from hallctl.web.endpoints import HUB, SERVICE, error_response, language_of
from hallctl.web.views import materials, public_ticket_view, ticket_view, window_view

log = logging.getLogger(__name__)

LIVE_PATH = "/api/v1/live"
TRACK_LIVE_PATH = "/api/v1/track/{track_token}/live"
#: Routes that stream rather than answer JSON (the OpenAPI test leaves them out, like the pages).
STREAM_PATHS = frozenset({LIVE_PATH, TRACK_LIVE_PATH})

#: Which views each role may open; the first is its default. The kiosk and the outside systems have none:
#: a kiosk only issues tickets, and the case system reads figures over the API.
VIEWS_BY_ROLE: dict[Role, tuple[str, ...]] = {
    Role.DISPLAY: ("board",),
    Role.CLERK: ("clerk", "board"),
    Role.MANAGER: ("dashboard", "board"),
    Role.AUDITOR: ("dashboard", "board"),
}

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
# What one stream may hold unsent. A page that cannot keep up with this many messages is better served
# by a fresh snapshot; the bound is what keeps a stalled client's memory small.
STREAM_QUEUE = 64
# A write that has not gone out after this long: the client is gone or stuck; close the stream.
WRITE_TIMEOUT = 30.0
# Streams the daemon serves at once, and per citizen's ticket (a phone has a tab or two open).
MAX_STREAMS = 20_000
MAX_PER_TICKET = 8
# How long EventSource waits before it reconnects (told to the browser in the stream).
RETRY_MS = 2000
# The dashboard's chart of waiting over the day: one point per this many seconds.
SERIES_STEP = 300


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
        self.config = service.config
        self.seq = 0  # the id of the last message built: the count of bus events seen since start
        self.recent: deque[dict[str, Any]] = deque(maxlen=self.config.devices.board.recent_calls)
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
        self._rebuild_recent()
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
                self._board_cache = (key, sse("snapshot", self._board_snapshot(), self.seq))
            return self._board_cache[1]
        if stream.view == "dashboard":
            return sse("snapshot", self._dashboard_snapshot(), self.seq)
        if stream.view == "clerk":
            assert stream.clerk is not None
            desk = self._desk(stream.clerk)
            stream.window = desk["window"]["id"] if desk["window"] else None
            stream.last_waiting = desk["waiting"]
            stream.last_desk = orjson.dumps(desk)
            data = {**self._common("clerk"), "clerk": stream.clerk, "desk": desk, "windows": self._windows()}
            return sse("snapshot", data, self.seq)
        assert stream.ticket is not None
        return sse("snapshot", {**self._common("phone"), "ticket": self._phone_view(stream.ticket)}, self.seq)

    def _common(self, view: str) -> dict[str, Any]:
        hall = self.config.hall
        return {
            "view": view,
            "hall": {"id": hall.id, "name": hall.name, "timezone": hall.timezone, "language": hall.language},
            "now": self.service.clock(),
            "day": self.service.state.day,
        }

    def _windows(self) -> list[dict[str, Any]]:
        state = self.service.state
        return [window_view(state, w) for w in sorted(state.windows.values(), key=lambda w: w.id)]

    def _board_snapshot(self) -> dict[str, Any]:
        return {
            **self._common("board"),
            "recent": list(self.recent),
            "waiting": self._waiting(),
            "windows": self._windows(),
            "notices": list(self.config.notices),
        }

    def _dashboard_snapshot(self) -> dict[str, Any]:
        return {
            **self._common("dashboard"),
            "recent": list(self.recent),
            "windows": self._windows(),
            "stats": self._stats(),
            "devices": self._devices(),
            "series": waiting_series(self.service.state, self.service.clock()),
            "series_step": SERIES_STEP,
            "profiles": [
                {"name": name, "description": p.description} for name, p in self.config.profiles.items()
            ],
        }

    # -- what each view is shown --------------------------------------------------------------------
    def _waiting(self) -> dict[str, Any]:
        waiting: dict[str, Any] = board(self.service.state, [], self.service.clock())["waiting"]
        return waiting

    def _stats(self) -> dict[str, Any]:
        state, now = self.service.state, self.service.clock()
        stats = hall_stats(state, now)
        for code, figures in stats["matters"].items():
            figures["expected_wait_minutes"] = expected_wait(state, code, now)
            figures["group"] = self.config.group(self.config.matter(code).prefix).name
        stats.pop("channels", None)  # the dashboard does not show them; keep the message small
        stats["point"] = [now, stats["live"]["waiting"]]
        stats["followups"] = self._followups(now)
        return stats

    def _followups(self, now: float) -> dict[str, int] | None:
        """差评整改 cases not closed and those past their deadline (the page flags the overdue)."""
        try:
            row = self.service.read(followups.COUNTS, (business_day(now, self.service.state.zone),))[0]
        except sqlite3.Error:  # not open (yet) or no table: the page shows nothing rather than a wrong 0
            return None
        return {"open": int(row[0]), "overdue": int(row[1])}

    def _devices(self) -> list[dict[str, Any]]:
        if self.hub is None:
            return []
        zone = self.service.state.zone
        return [{**d, "last_seen_iso": iso(d["last_seen"], zone)} for d in self.hub.view()]

    def _desk(self, clerk: str) -> dict[str, Any]:
        """A clerk's desk: their window, the ticket at it (with materials), who waits, parked tickets."""
        state = self.service.state
        window = state.window_of_clerk(clerk)
        if window is None:
            return {"window": None, "ticket": None, "waiting": 0, "suspended": [], "rating": None}
        current = state.tickets.get(window.current) if window.current is not None else None
        ticket = None
        if current is not None:
            ticket = ticket_view(state, current)
            ticket["materials"] = materials(state, current)
        suspended = [
            {"id": t.id, "number": t.number, "matter_names": [self.config.matter(m).name for m in t.matters]}
            for t in state.tickets.values()
            if t.state is TicketState.SUSPENDED and t.window == window.id
        ]
        armed = state.armed.get(window.id)
        rating = None
        if armed is not None and armed.ticket in state.tickets:
            rating = {
                "ticket": state.tickets[armed.ticket].number,
                "until": iso(armed.until, state.zone),
                "rated": armed.rated,
            }
        return {
            "window": window_view(state, window),
            "ticket": ticket,
            "waiting": state.waiting_for(window.id, self.service.clock()),
            "suspended": suspended,
            "rating": rating,
        }

    def _phone_view(self, ticket_id: int) -> dict[str, Any] | None:
        ticket = self.service.state.tickets.get(ticket_id)
        return None if ticket is None else public_ticket_view(self.service.state, ticket)

    def _rebuild_recent(self) -> None:
        """The latest calls from the live state (at start, and when events were lost)."""
        state = self.service.state
        called = sorted(
            (t for t in state.tickets.values() if t.called_at is not None and t.window is not None),
            key=lambda t: t.called_at or 0.0,
            reverse=True,
        )
        self.recent.clear()
        for t in called[: self.recent.maxlen]:
            assert t.window is not None and t.called_at is not None
            self.recent.append(self._call(t.number, t.window, t.called_at, t.recalls > 0, 0))

    def _call(self, number: str, window_id: int, at: float, recall: bool, call_id: int) -> dict[str, Any]:
        window = self.service.state.windows.get(window_id)
        return {
            "id": call_id,
            "number": number,
            "window": window_id,
            "window_name": window.name if window is not None else f"{window_id}号窗口",
            "at": iso(at, self.service.state.zone),
            "recall": recall,
        }

    # -- events in, messages out --------------------------------------------------------------------
    async def _pump(self, subscription: Subscription) -> None:
        while True:
            event = await subscription.get()
            if subscription.overflowed:
                # Events were lost: no stream can be brought up to date by messages any more.
                subscription.overflowed = False
                self.resyncs += 1
                self._rebuild_recent()
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
            call = self._call(
                ticket["number"], event.window["id"], event.at, event.kind == "ticket.recalled", seq
            )
            self.recent.appendleft(call)
            self._push((*self._by_view["board"], *self._by_view["dashboard"]), sse("call", call, seq))
        for window_id in sorted(touched):
            if window_id in state.windows:
                self._push(staff, sse("window", window_view(state, state.windows[window_id]), seq))

        if event.kind.startswith("ticket."):
            self._queue_dirty = True
        self._stats_dirty = True

        for stream in self._by_view["clerk"]:
            assert stream.clerk is not None
            mine = state.window_of_clerk(stream.clerk)
            at = mine.id if mine is not None else None
            if at != stream.window or at in touched:
                desk = self._desk(stream.clerk)
                body = orjson.dumps(desk)
                if body != stream.last_desk:
                    stream.window, stream.last_waiting, stream.last_desk = at, desk["waiting"], body
                    stream.push(sse("desk", desk, seq))
            if event.kind == "rating.rated" and at is not None and event.detail.get("window") == at:
                rated = {
                    "window": at,
                    "ticket": ticket["number"] if ticket else None,
                    "level": event.detail.get("level"),
                    "level_name": event.detail.get("level_name"),
                }
                stream.push(sse("rating", rated, seq))

        if ticket is not None and ticket["id"] in self._phones:
            self._send_phone(ticket["id"], seq)

    def _send_phone(self, ticket_id: int, seq: int) -> None:
        view = self._phone_view(ticket_id)
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
                self._push(self._by_view["board"], sse("waiting", self._waiting(), seq))
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
            self._push(dashboards, sse("stats", self._stats(), seq))
        if dashboards and self.hub is not None and self._devices_timer.due(now):
            devices = self._devices()
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


def expected_wait(state: HallState, matter: str, now: float) -> int:
    """Minutes a ticket for this matter issued now would wait (the same predictor the kiosk shows)."""
    config = state.config
    probe = Ticket(
        id=0,
        number="",
        prefix=config.matter(matter).prefix,
        seq=0,
        day=state.day,
        matters=(matter,),
        channel="normal",
        issued_at=now,
        track_token="",
        queue_key=now,
    )
    return ticket_eta(state, probe).minutes


def waiting_series(state: HallState, now: float, step: int = SERIES_STEP) -> list[list[float]]:
    """How many waited over today, one point per ``step`` seconds, from the first ticket to now.

    A ticket waits from its issue to its first call; one never called waits until it ended (finished or
    no longer queued), or still waits now."""
    changes: list[tuple[float, int]] = []
    for t in state.tickets.values():
        if t.day != state.day:
            continue
        end = t.first_called_at
        if end is None and t.state not in QUEUED:
            end = t.finished_at or t.no_show_at or t.issued_at
        changes.append((t.issued_at, 1))
        if end is not None:
            changes.append((end, -1))
    if not changes:
        return [[now, 0]]
    changes.sort()
    start = changes[0][0] - changes[0][0] % step
    points: list[list[float]] = []
    waiting, i = 0, 0
    at = start
    while at < now:
        while i < len(changes) and changes[i][0] <= at:
            waiting += changes[i][1]
            i += 1
        points.append([at, waiting])
        at += step
    while i < len(changes) and changes[i][0] <= now:
        waiting += changes[i][1]
        i += 1
    points.append([now, waiting])
    return points


# -- the HTTP side ----------------------------------------------------------------------------------

LIVE: web.AppKey[LiveHub] = web.AppKey("live", LiveHub)


def setup_live(app: web.Application) -> None:
    """Add the stream routes and the hub that feeds them to an app made by ``create_app``."""
    app[LIVE] = LiveHub(app[SERVICE], app.get(HUB))
    app.router.add_get(LIVE_PATH, live_stream)
    app.router.add_get(TRACK_LIVE_PATH, track_stream)
    app.cleanup_ctx.append(_run_live)
    app.on_shutdown.append(_end_streams)


async def _run_live(app: web.Application) -> AsyncIterator[None]:
    async with app[LIVE]:
        yield


async def _end_streams(app: web.Application) -> None:
    # Runs before the server waits for open requests: without it, a stopping daemon would wait for every
    # page to hang up.
    app[LIVE].close_all()


def _token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return request.query.get("token") or None


def _refusal(request: web.Request, status: int, code: str, zh: str, en: str) -> web.Response:
    return error_response(status, code, en if language_of(request) == "en" else zh)


async def live_stream(request: web.Request) -> web.StreamResponse:
    live = request.app[LIVE]
    token = _token(request)
    if token is None:
        return _refusal(
            request,
            401,
            "unauthenticated",
            "需要令牌（Authorization: Bearer … 或 ?token=…）",
            "a token is required (Authorization: Bearer ... or ?token=...)",
        )
    info = live.service.authenticate(token)
    if info is None:
        return _refusal(request, 401, "bad_token", "令牌无效或已吊销", "unknown or revoked token")
    views = VIEWS_BY_ROLE.get(info.role, ())
    # The audit's record of where each token is used from covers the pages' stream too (a board's display
    # token is used nowhere else).
    request.app[ACCESS].record(request, info, "GET /api/v1/live", forbidden=not views)
    if not views:
        return _refusal(
            request,
            403,
            "role_forbidden",
            f"“{info.role.value}”角色无权订阅实时数据",
            f"the {info.role.value} role may not open the live stream",
        )
    view = request.query.get("view") or views[0]
    if view not in views:
        return _refusal(
            request,
            403,
            "view_forbidden",
            f"“{info.role.value}”角色可用的视图：{'、'.join(views)}",
            f"the {info.role.value} role may open: {', '.join(views)}",
        )
    if view == "clerk" and not info.clerk:
        return _refusal(
            request, 403, "no_clerk_id", "该柜员令牌没有柜员编号", "this clerk token has no clerk id"
        )
    stream = Stream(view, token=token, role=info.role, clerk=info.clerk)
    return await _serve(request, live, stream)


async def track_stream(request: web.Request) -> web.StreamResponse:
    live = request.app[LIVE]
    ticket = live.service.find_by_track_token(request.match_info["track_token"])
    if ticket is None:
        return _refusal(
            request,
            404,
            "ticket_not_found",
            "未找到该号票，可能已过期",
            "no such ticket (it may have expired)",
        )
    if live.phone_streams(ticket.id) >= MAX_PER_TICKET:
        return _refusal(
            request,
            429,
            "too_many_streams",
            "打开的页面过多，请关闭几个后重试",
            "too many open pages for this ticket",
        )
    return await _serve(request, live, Stream("phone", ticket=ticket.id))


async def _serve(request: web.Request, live: LiveHub, stream: Stream) -> web.StreamResponse:
    if len(live.streams) >= MAX_STREAMS:
        return _refusal(request, 503, "too_many_streams", "实时连接已满，请稍后重试", "too many live streams")
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache, no-store",
            "X-Accel-Buffering": "no",  # a reverse proxy in front must not hold the stream back
        }
    )
    await response.prepare(request)
    live.open(stream)
    try:
        await response.write(b"retry: %d\n\n" % RETRY_MS)
        await _write_loop(response, live, stream)
    except (ConnectionError, TimeoutError):
        pass  # the client went away, or stopped reading: nothing more to send
    finally:
        live.close(stream)
    return response


async def _write_loop(response: web.StreamResponse, live: LiveHub, stream: Stream) -> None:
    write: Callable[[bytes], Any] = response.write
    while True:
        await stream.ready.wait()
        stream.ready.clear()
        if stream.closed:
            # A last word already queued (``revoked``) still goes out.
            if stream.queue:
                await asyncio.wait_for(write(b"".join(stream.queue)), WRITE_TIMEOUT)
            return
        if stream.stale:
            stream.stale = False
            stream.queue.clear()
            chunk = live.snapshot(stream)
        else:
            chunk = b"".join(stream.queue)
            stream.queue.clear()
        if chunk:
            await asyncio.wait_for(write(chunk), WRITE_TIMEOUT)
