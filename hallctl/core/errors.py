"""Domain errors: what went wrong in the hall's words, with context. The web and device edges map them to
HTTP statuses and MQTT/serial replies; the core never knows about either."""

from __future__ import annotations

from typing import ClassVar


class HallError(Exception):
    """Base of every refusal. ``code`` is stable for machines; messages are for people (zh default, en)."""

    status: ClassVar[int] = 409
    code: str = "conflict"

    # Positional-only, so a context key may share a name with them (appointments pass ``code=`` as context).
    def __init__(self, code: str, zh: str, en: str, /, **context: object) -> None:
        super().__init__(en)
        self.code = code
        self.zh = zh
        self.en = en
        self.context = context

    def message(self, language: str = "zh") -> str:
        return self.en if language == "en" else self.zh


class Conflict(HallError):
    """The command does not fit the current state (HTTP 409); nothing was changed."""

    status = 409


class NotFound(HallError):
    status = 404


class Forbidden(HallError):
    """The caller may not do this to this window or ticket (HTTP 403)."""

    status = 403


class Invalid(HallError):
    """The request names something that does not exist in this hall or breaks a rule of form (HTTP 422)."""

    status = 422


def ticket_not_found(ticket_id: object) -> NotFound:
    return NotFound(
        "ticket_not_found", f"号票 {ticket_id} 不存在", f"ticket {ticket_id} not found", ticket=ticket_id
    )


def window_not_found(window: object) -> NotFound:
    return NotFound(
        "window_not_found", f"{window}号窗口不存在", f"window {window} does not exist", window=window
    )


def wrong_state(action: str, ticket_number: str, state: str, allowed: str) -> Conflict:
    return Conflict(
        "invalid_transition",
        f"号票 {ticket_number} 当前状态为“{STATE_ZH.get(state, state)}”，不能{ACTION_ZH.get(action, action)}",
        f"ticket {ticket_number} is {state}; {action} needs {allowed}",
        action=action,
        state=state,
    )


STATE_ZH = {
    "waiting": "等候中",
    "called": "已叫号",
    "serving": "办理中",
    "done": "已办结",
    "no_show": "过号",
    "suspended": "挂起",
    "transferred": "已转办",
    "voided": "已作废",
}

ACTION_ZH = {
    "call": "叫号",
    "recall": "重呼",
    "no_show": "标记过号",
    "start": "开始办理",
    "finish": "办结",
    "transfer": "转办",
    "suspend": "挂起",
    "resume": "回呼",
    "return": "重新排队",
    "void": "作废",
}
