"""What each window's LED and the hall board show, computed from the live state (pure)."""

from __future__ import annotations

from typing import Any

from devices.contracts import WindowScreen
from hallctl.core.calendar import iso
from hallctl.core.model import Ticket, TicketState, WindowState, WindowStatus
from hallctl.core.state import HallState

IDLE_TEXT = "欢迎光临"
PAUSED_TEXT = "暂停服务"
CLOSED_TEXT = "本窗口暂停办理"


def window_screen(window: WindowStatus, current: Ticket | None) -> WindowScreen:
    if window.state is WindowState.CLOSED:
        return WindowScreen(window.id, "closed", None, CLOSED_TEXT)
    if current is not None and current.state is TicketState.CALLED:
        return WindowScreen(window.id, "calling", current.number, f"{current.number} 请到{window.id}号窗口")
    if current is not None and current.state is TicketState.SERVING:
        return WindowScreen(window.id, "serving", current.number, f"{current.number} 正在办理")
    if window.state is WindowState.PAUSED:
        return WindowScreen(window.id, "paused", None, PAUSED_TEXT)
    return WindowScreen(window.id, "idle", None, IDLE_TEXT)


def screen_of(state: HallState, window_id: int) -> WindowScreen:
    window = state.windows[window_id]
    current = state.tickets.get(window.current) if window.current is not None else None
    return window_screen(window, current)


def waiting_by_matter(state: HallState) -> dict[str, int]:
    counts = state.queues.by_matter
    return {m.code: counts[m.code] for m in state.config.matters}


def board(state: HallState, recent: list[dict[str, Any]], now: float) -> dict[str, Any]:
    """The hall board (综合屏): the latest calls, waiting per matter and per group, the notices."""
    by_matter = waiting_by_matter(state)
    by_group = state.queues.by_prefix
    return {
        "v": 1,
        "hall": state.config.hall.name,
        "recent": recent,
        "waiting": {
            "total": len(state.queues),
            "matters": [
                {"code": m.code, "name": m.name, "waiting": by_matter[m.code]} for m in state.config.matters
            ],
            "groups": [
                {"prefix": g.prefix, "name": g.name, "waiting": by_group[g.prefix]}
                for g in state.config.groups
            ],
        },
        "notices": list(state.config.notices),
        "at": iso(now, state.zone),
    }
