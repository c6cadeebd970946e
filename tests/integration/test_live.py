"""The live stream the pages listen on: a snapshot of what the caller may see, then the committed changes,
as Server-Sent Events. Each test reads the stream as a browser's EventSource would."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hallctl.config import HallConfig
from hallctl.core.model import Event
from hallctl.web.live import LIVE, _write_loop
from hallctl.web.live_stream import STREAM_QUEUE, Stream

from .halltest import MINUTE, FakeClock, Hall, run_hall

# Generous for a message on a loaded CI machine; a test waits this long only when something is wrong.
TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class Message:
    event: str
    id: int | None
    data: Any


class EventStream:
    """An open stream read message by message; comments (heartbeats) are kept apart."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.comments = 0
        self.retry: int | None = None

    async def next(self, within: float = TIMEOUT) -> Message:
        return await asyncio.wait_for(self._read(), within)

    async def until(self, event: str, within: float = TIMEOUT) -> Message:
        """Skip messages until one named ``event``."""
        deadline = time.monotonic() + within
        while True:
            message = await self.next(max(0.01, deadline - time.monotonic()))
            if message.event == event:
                return message

    async def nothing_for(self, seconds: float) -> list[Message]:
        """Everything that arrives within ``seconds`` (used to show what a stream is *not* told)."""
        got = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                got.append(await self.next(left))
            except TimeoutError:
                break
        return got

    async def _read(self) -> Message:
        event, event_id, data = "message", None, []
        while True:
            raw = await self.response.content.readline()
            if not raw:
                raise EOFError("the stream ended")
            line = raw.decode().rstrip("\n")
            if line == "":
                if data:
                    return Message(event, event_id, json.loads("\n".join(data)))
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "":
                self.comments += 1
            elif field == "event":
                event = value
            elif field == "id":
                event_id = int(value)
            elif field == "data":
                data.append(value)
            elif field == "retry":
                self.retry = int(value)


@asynccontextmanager
async def stream(
    hall: Hall, path: str, token: str | None = None, *, by_query: bool = False
) -> AsyncIterator[EventStream]:
    headers = {"Accept": "text/event-stream"}
    if token is not None and not by_query:
        headers["Authorization"] = f"Bearer {token}"
    elif token is not None:
        path += ("&" if "?" in path else "?") + f"token={token}"
    async with hall.client.get(path, headers=headers) as response:
        assert response.status == 200, await response.text()
        assert response.content_type == "text/event-stream"
        yield EventStream(response)


async def issue(hall: Hall, matter: str = "CBDJ") -> dict[str, Any]:
    hall.clock.advance(MINUTE)
    ticket: dict[str, Any] = await hall.api(
        "POST", "/api/v1/tickets", hall.tokens["kiosk"], {"matter": matter}, status=201
    )
    return ticket


async def test_the_board_gets_a_snapshot_then_each_call_as_it_is_committed(hall_with_queue: Hall) -> None:
    hall = hall_with_queue
    async with stream(hall, "/api/v1/live", hall.tokens["display"], by_query=True) as board:
        snapshot = await board.next()
        assert snapshot.event == "snapshot" and snapshot.data["view"] == "board"
        assert board.retry is not None and board.retry > 0  # EventSource reconnects by itself
        assert snapshot.data["recent"] == []
        assert snapshot.data["waiting"]["total"] == 5
        groups = {g["prefix"]: g["waiting"] for g in snapshot.data["waiting"]["groups"]}
        assert (groups["A"], groups["B"], groups["E"], groups["Z"]) == (2, 1, 1, 1)
        assert snapshot.data["notices"] == list(hall.service.config.notices)
        assert [w["id"] for w in snapshot.data["windows"]] == list(range(1, 9))

        await hall.api("POST", "/api/v1/windows/3/call-next", hall.tokens["c3"])
        call = await board.until("call")
        assert call.data["number"] == "A0001" and call.data["window"] == 3
        assert call.data["window_name"] == "3号综合窗口" and call.data["recall"] is False
        assert call.id is not None and snapshot.id is not None and call.id > snapshot.id
        waiting = await board.until("waiting")
        assert waiting.data["total"] == 4

        await hall.api("POST", "/api/v1/windows/3/recall", hall.tokens["c3"])
        recall = await board.until("call")
        assert recall.data["recall"] is True and recall.id is not None and recall.id > call.id

    # A board that connects later (or reconnects) starts from a snapshot holding both calls, newest first.
    async with stream(hall, "/api/v1/live", hall.tokens["display"]) as later:
        snapshot = await later.next()
        assert [(c["number"], c["recall"]) for c in snapshot.data["recent"]] == [
            ("A0001", True),
            ("A0001", False),
        ]
        assert snapshot.data["waiting"]["total"] == 4


async def test_the_phone_hears_about_its_own_ticket_and_nothing_about_anyone_else(
    hall_with_queue: Hall,
) -> None:
    hall = hall_with_queue
    mine = hall.queue[1]  # A0002, behind A0001
    async with stream(hall, f"/api/v1/track/{mine['track_token']}/live") as phone:
        snapshot = await phone.next()
        assert snapshot.data["view"] == "phone"
        ticket = snapshot.data["ticket"]
        assert (ticket["number"], ticket["state"], ticket["ahead"]) == ("A0002", "waiting", 1)
        assert [m["name"] for m in ticket["materials"]] == ["缴费基数申报"]

        # Someone else is called: the phone learns only that one fewer stands ahead.
        await hall.api("POST", "/api/v1/windows/1/call-next", hall.tokens["c1"])
        moved = await phone.until("ticket")
        assert (moved.data["number"], moved.data["ahead"]) == ("A0002", 0)
        text = json.dumps([m.data for m in await phone.nothing_for(1.5)])
        assert "A0001" not in text and "track_token" not in text

        await hall.api("POST", "/api/v1/windows/3/call-next", hall.tokens["c3"])
        called = await phone.until("ticket")
        assert (called.data["state"], called.data["window"], called.data["window_name"]) == (
            "called",
            3,
            "3号综合窗口",
        )
        assert set(called.data) == set(ticket)  # the same public view, never more


async def test_who_may_open_which_stream(hall_with_queue: Hall) -> None:
    hall = hall_with_queue
    refusals = [
        ("/api/v1/live", None, 401, "unauthenticated"),
        ("/api/v1/live?token=hc_not-a-token", None, 401, "bad_token"),
        ("/api/v1/live", hall.tokens["kiosk"], 403, "role_forbidden"),
        ("/api/v1/live", hall.tokens["casesys"], 403, "role_forbidden"),
        ("/api/v1/live", hall.tokens["booking"], 403, "role_forbidden"),
        ("/api/v1/live?view=dashboard", hall.tokens["display"], 403, "view_forbidden"),
        ("/api/v1/live?view=dashboard", hall.tokens["c1"], 403, "view_forbidden"),
        ("/api/v1/live?view=clerk", hall.tokens["manager"], 403, "view_forbidden"),
        ("/api/v1/track/not-a-track-token/live", None, 404, "ticket_not_found"),
    ]
    for path, token, status, code in refusals:
        await hall.refused("GET", path, token, status=status, code=code)
    allowed = [
        ("display", "", "board"),
        ("manager", "", "dashboard"),
        ("manager", "?view=board", "board"),
        ("auditor", "", "dashboard"),
        ("c1", "", "clerk"),
        ("c1", "?view=board", "board"),
    ]
    for who, query, view in allowed:
        async with stream(hall, "/api/v1/live" + query, hall.tokens[who]) as live:
            assert (await live.next()).data["view"] == view, who


async def test_a_clerk_desk_follows_the_window_the_clerk_is_at(fresh_hall: Hall) -> None:
    hall = fresh_hall
    c1 = hall.tokens["c1"]
    async with stream(hall, "/api/v1/live", c1, by_query=True) as desk:
        snapshot = await desk.next()
        assert snapshot.data["clerk"] == "c1" and snapshot.data["desk"]["window"] is None
        assert len(snapshot.data["windows"]) == 8  # to pick a window from

        await hall.api("POST", "/api/v1/windows/1/login", c1)
        logged_in = await desk.until("desk")
        assert logged_in.data["window"]["id"] == 1 and logged_in.data["window"]["clerk"] == "c1"
        assert logged_in.data["ticket"] is None and logged_in.data["waiting"] == 0

        await issue(hall, "YLFY")
        assert (await desk.until("waiting")).data == {"window": 1, "waiting": 1}

        await hall.api("POST", "/api/v1/windows/1/call-next", c1)
        called = await desk.until("desk")
        ticket = called.data["ticket"]
        assert (ticket["number"], ticket["state"]) == ("D0001", "called")
        assert ticket["materials"][0]["materials"][0] == "身份证原件"
        assert called.data["waiting"] == 0

        await hall.api("POST", "/api/v1/windows/1/suspend", c1, {"reason": "缺材料"})
        parked = await desk.until("desk")
        assert parked.data["ticket"] is None
        assert [t["number"] for t in parked.data["suspended"]] == ["D0001"]

        # Another clerk's work is not this desk's business: no desk message for window 2.
        await hall.api("POST", "/api/v1/windows/2/login", hall.tokens["c2"])
        assert all(m.event != "desk" for m in await desk.nothing_for(0.5))


async def test_the_dashboard_gets_windows_queues_devices_and_the_days_figures(hall_with_queue: Hall) -> None:
    hall = hall_with_queue
    async with stream(hall, "/api/v1/live", hall.tokens["manager"]) as dashboard:
        snapshot = (await dashboard.next()).data
        assert snapshot["view"] == "dashboard"
        assert snapshot["stats"]["live"]["waiting"] == 5
        cbdj = snapshot["stats"]["matters"]["CBDJ"]
        assert (cbdj["waiting"], cbdj["target_wait_minutes"], cbdj["group"]) == (1, 20, "参保缴费")
        assert cbdj["expected_wait_minutes"] >= 0
        assert {p["name"] for p in snapshot["profiles"]} >= {"integrated", "consultation"}
        assert snapshot["series"][-1][1] == 5
        assert snapshot["devices"] == []  # no device hub in this app

        await hall.api("POST", "/api/v1/windows/1/call-next", hall.tokens["c1"])
        await hall.api("POST", "/api/v1/windows/1/start", hall.tokens["c1"])
        hall.clock.advance(5 * MINUTE)
        await hall.api("POST", "/api/v1/windows/1/finish", hall.tokens["c1"])
        deadline = time.monotonic() + TIMEOUT
        while True:  # figures are coalesced: wait for the message that counts the finish
            stats = (await dashboard.until("stats", deadline - time.monotonic())).data
            if stats["windows"]["1"]["served_today"] == 1:
                break
        assert stats["today"]["served"] == 1 and stats["live"]["waiting"] == 4
        assert stats["windows"]["1"]["service_seconds"]["mean"] == 300.0


async def test_a_stream_that_falls_behind_gets_a_fresh_snapshot_instead_of_stale_changes(
    hall_with_queue: Hall,
) -> None:
    hall = hall_with_queue
    live = hall.client.app[LIVE]
    slow = Stream("board")
    live.open(slow)
    try:
        for n in range(STREAM_QUEUE + 10):
            slow.push(b"event: call\ndata: %d\n\n" % n)
        assert slow.stale and not slow.queue  # nothing stale is kept, however long it stalls

        written: list[bytes] = []

        class Response:
            async def write(self, chunk: bytes) -> None:
                written.append(chunk)
                slow.close()  # one round is enough

        await _write_loop(Response(), live, slow)  # type: ignore[arg-type]
        assert len(written) == 1 and written[0].startswith(b"id: ")
        assert b"event: snapshot\n" in written[0] and b"event: call" not in written[0]
    finally:
        live.close(slow)


async def test_when_the_hub_itself_loses_events_every_stream_starts_again_from_a_snapshot(
    hall_with_queue: Hall,
) -> None:
    hall = hall_with_queue
    async with stream(hall, "/api/v1/live", hall.tokens["display"]) as board:
        await board.next()
        # A flood no subscriber could keep up with, published in one go.
        hall.service.bus.publish(Event("window.noise", hall.clock.now) for _ in range(5000))
        assert (await board.until("snapshot")).data["waiting"]["total"] == 5
        assert hall.client.app[LIVE].resyncs == 1


async def test_heartbeats_keep_the_stream_open_and_a_revoked_token_ends_it(fresh_hall: Hall) -> None:
    hall = fresh_hall
    live = hall.client.app[LIVE]
    live._heartbeat_timer.every = 0.2
    token = hall.token_for("display", name="board to revoke")
    async with stream(hall, "/api/v1/live", token) as board:
        await board.next()
        await board.nothing_for(0.6)
        assert board.comments >= 1
        conn = hall.service._reader
        assert conn is not None
        conn.execute("update tokens set revoked_at = 1")
        conn.commit()
        hall.service._tokens.clear()  # the 5 s token cache, which a test does not wait out
        assert (await board.until("revoked")).data == {"code": "bad_token"}
        with pytest.raises(EOFError):
            await board.next()


async def test_stopping_the_app_ends_open_streams_at_once(
    example_config: HallConfig, tmp_path: Path, clock: FakeClock
) -> None:
    async with run_hall(example_config, tmp_path / "hall.db", clock) as hall:
        response = await hall.client.get(
            "/api/v1/live", headers={"Authorization": f"Bearer {hall.tokens['display']}"}
        )
        await EventStream(response).next()
        started = time.monotonic()
    assert time.monotonic() - started < 5.0  # not aiohttp's 60 s wait for open requests
