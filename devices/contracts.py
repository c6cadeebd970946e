"""What the daemon and the device drivers exchange: plain data and callables, no hallctl internals.

Drivers are async context managers that own their tasks; the daemon's device hub (hallctl/hub.py)
feeds them screens and announcements and gives them handlers for what devices send in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

ScreenMode = Literal["calling", "serving", "idle", "paused", "closed"]


@dataclass(frozen=True, slots=True)
class WindowScreen:
    """What a window's LED (窗口屏) shows now."""

    window: int
    mode: ScreenMode
    number: str | None  # the ticket called to or served at the window
    text: str  # e.g. "A012 请到3号窗口", "暂停服务", "欢迎光临"


#: Keys of a clerk's call keypad (呼叫器): call 呼叫, recall 重呼, rate 评价, pause 暂停 (toggles),
#: transfer 转移 (argument: target window), no_show 弃号, suspend 挂起, resume 回呼.
KEYS = ("call", "recall", "rate", "pause", "transfer", "no_show", "suspend", "resume")
Key = Literal["call", "recall", "rate", "pause", "transfer", "no_show", "suspend", "resume"]


@dataclass(frozen=True, slots=True)
class KeyReply:
    """The daemon's answer to a key, for the keypad's small display."""

    ok: bool
    number: str | None  # the ticket now at the window, if any
    waiting: int  # tickets waiting that this window may call
    message: str  # short text: the error in Chinese, or "" when ok


#: (window, key, argument or None) -> reply. The hub checks the keypad is bound to that window.
KeyHandler = Callable[[int, Key, int | None], Awaitable[KeyReply]]

RATING_LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}


@dataclass(frozen=True, slots=True)
class RatingReply:
    accepted: bool
    reason: str  # "" | "nothing_armed" | "already_rated" | "expired" | "bad_level"


#: (device id, window, level 1..5) -> reply.
RatingHandler = Callable[[str, int, int], Awaitable[RatingReply]]
