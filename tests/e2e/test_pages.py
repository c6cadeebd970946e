"""The pages in real Chromium against the real daemon: a citizen takes a ticket at the kiosk, a clerk calls
it, the board and the citizen's phone show the call within a second, the dashboard counts the service.
Plus the kiosk's other ways (credit code, printer failure, idle reset), tokens, English, and the
accessibility basics (every button named, large type on the board, contrast).

Playwright drives Debian's chromium (``playwright install`` cannot download browsers here). Screenshots of
every page go to test-artifacts/pages/ (git-ignored).
"""

from __future__ import annotations

import datetime
import itertools
import json
import re
import shutil
import time
import urllib.request
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hallctl.config import Channel, load_config
from hallctl.core import routing
from hallctl.core.model import Ticket, WindowStatus
from hallctl.store.schema import open_db
from hallctl.store.tokens import create_token

from .daemonkit import EXAMPLE_CONFIG, ROOT, Daemon, Tokens, credit_code, open_followup

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts" / "pages"
# The promise: the board shows a call within 1 s of call-next.
CALL_SHOWN_WITHIN_MS = 1000
# Generous for a page to load or a message to arrive on a loaded CI machine.
WAIT_MS = 10_000

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")

Page = Any  # playwright.sync_api.Page; the module is imported at run time only


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@dataclass
class Hall:
    """The running daemon as the pages see it, with a token per role and a display token for the board."""

    daemon: Daemon
    tokens: Tokens
    display: str
    browser: Any
    errors: list[str]

    @property
    def url(self) -> str:
        return self.daemon.url

    def page(self, path: str, *, width: int = 1920, height: int = 1080, **context: Any) -> Page:
        """A page in a fresh browser context (its own storage, as a separate device has); script errors
        are collected and fail the test."""
        ctx = self.browser.new_context(viewport={"width": width, "height": height}, **context)
        page = ctx.new_page()
        page.set_default_timeout(WAIT_MS)
        page.on("pageerror", lambda error: self.errors.append(f"{path}: {error}"))
        page.on(
            "console",
            lambda msg: self.errors.append(f"{path}: console {msg.text}") if msg.type == "error" else None,
        )
        page.goto(self.url + path, wait_until="load")
        return page


@pytest.fixture
def hall(daemon: Daemon, tokens: Tokens, hall_db: Path, browser: Any) -> Generator[Hall, None, None]:
    conn = open_db(hall_db).conn
    try:
        display = create_token(conn, "display", name="e2e board")  # works at once, the daemon running
    finally:
        conn.close()
    errors: list[str] = []
    yield Hall(daemon, tokens, display, browser, errors)
    for context in browser.contexts:
        context.close()
    assert not errors, "the pages reported errors:\n" + "\n".join(errors)


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def text_of(page: Page) -> str:
    return str(page.inner_text("body"))


def when_seen(page: Page, selector: str, text: str) -> None:
    """From now on, record (in the page, by its own clock) when ``text`` first shows in ``selector``."""
    page.evaluate(
        """([selector, text]) => {
            window.__seenAt = new Promise((resolve) => {
                const seen = () => {
                    const node = document.querySelector(selector);
                    const shown = node && !node.hidden && node.innerText.includes(text);
                    if (shown) resolve(Date.now());
                    return shown;
                };
                if (seen()) return;
                new MutationObserver(seen).observe(document.body,
                    { childList: true, subtree: true, characterData: true, attributes: true });
            });
        }""",
        [selector, text],
    )


def seen_at(page: Page) -> float:
    return float(page.evaluate("window.__seenAt"))


def take_ticket_at_the_kiosk(kiosk: Page, group: str, matter: str) -> dict[str, str]:
    """Tap a group, a matter, read the materials, confirm; answer what the ticket screen shows."""
    kiosk.get_by_role("button", name=re.compile(group)).first.click()
    kiosk.get_by_role("button", name=re.compile(matter)).first.click()
    kiosk.get_by_text("请备齐以下材料").wait_for()
    kiosk.get_by_role("button", name="确认取号").click()
    number = kiosk.locator("#ticket-number")
    number.wait_for()
    qr = kiosk.locator("figure.qr svg")
    return {
        "number": number.inner_text(),
        "ahead": kiosk.locator("#ticket-ahead").inner_text(),
        "eta": kiosk.locator("#ticket-eta").inner_text(),
        "qr_url": str(qr.get_attribute("data-url")),
    }


# -- the whole way ----------------------------------------------------------------------------------------


def test_a_ticket_from_the_kiosk_is_called_at_the_clerk_desk_and_shown_everywhere_within_a_second(
    hall: Hall,
) -> None:
    kiosk = hall.page(f"/kiosk?token={hall.tokens.kiosk}", width=1080, height=1920)
    board = hall.page(f"/board?token={hall.display}")
    dashboard = hall.page(f"/dashboard?token={hall.tokens.manager}")
    clerk = hall.page(f"/clerk?token={hall.tokens.clerk['c1']}", width=1366, height=768)

    # The kiosk shows the groups with their matters in Chinese; the citizen takes 参保登记.
    assert "参保缴费" in text_of(kiosk) and "参保登记" in text_of(kiosk)
    screenshot(kiosk, "kiosk-home-portrait")
    ticket = take_ticket_at_the_kiosk(kiosk, "参保缴费", "参保登记")
    assert re.fullmatch(r"A\d{4}", ticket["number"]), ticket
    assert ticket["ahead"] == "0 人" and "分钟" in ticket["eta"]
    track = ticket["qr_url"].rsplit("/t/", 1)[1]
    assert len(track) >= 22  # 128 random bits
    screenshot(kiosk, "kiosk-ticket-portrait")

    phone = hall.page(f"/t/{track}", width=390, height=844, is_mobile=True, has_touch=True)
    phone.get_by_text(ticket["number"]).first.wait_for()
    phone.locator("#live[data-state='live']").wait_for()
    assert "参保登记" in text_of(phone) and "身份证原件" in text_of(phone)
    screenshot(phone, "phone-waiting")

    # The clerk picks window 1 and calls with F1; the board and the phone show it.
    clerk.get_by_role("button", name="登录此窗口：1号综合窗口").click()
    clerk.locator("#waiting").wait_for()
    clerk.wait_for_function("document.getElementById('waiting').textContent === '1'")
    board.locator("#live[data-state='live']").wait_for()
    when_seen(board, "#current", ticket["number"])
    when_seen(phone, "#called", "请到1号窗口")
    pressed_at = float(clerk.evaluate("Date.now()"))
    clerk.keyboard.press("F1")
    board_ms = seen_at(board) - pressed_at
    phone_ms = seen_at(phone) - pressed_at
    print(f"\ncall-next (F1 at the clerk page) → board {board_ms:.0f} ms, phone {phone_ms:.0f} ms")
    assert board_ms < CALL_SHOWN_WITHIN_MS and phone_ms < CALL_SHOWN_WITHIN_MS
    assert "fresh" in str(board.locator("#current").get_attribute("class"))  # the new call flashes
    clerk.locator("#current-number", has_text=ticket["number"]).wait_for()
    assert "身份证原件" in text_of(clerk)  # the materials the citizen should have brought
    screenshot(board, "board-landscape-calling")
    screenshot(phone, "phone-called")
    screenshot(clerk, "clerk-called")

    # F3 start, F4 finish; the dashboard counts it for window 1.
    clerk.keyboard.press("F3")
    clerk.locator(".badge[data-state='serving']").wait_for()
    clerk.keyboard.press("F4")
    clerk.get_by_text(f"已办理完成 {ticket['number']}").wait_for()
    dashboard.locator("#windows tr[data-window='1'] td[data-served='1']").wait_for()
    dashboard.wait_for_function("document.getElementById('sum-served').textContent === '1'")
    phone.get_by_text("已办结").wait_for()
    screenshot(dashboard, "dashboard")
    screenshot(clerk, "clerk-idle")


# -- the kiosk ---------------------------------------------------------------------------------------------


def test_a_large_enterprise_takes_its_number_with_the_credit_code_on_the_kiosk_keypad(hall: Hall) -> None:
    kiosk = hall.page(f"/kiosk?token={hall.tokens.kiosk}")
    kiosk.get_by_role("button", name=re.compile("大企业专窗")).click()
    kiosk.get_by_role("button", name=re.compile("参保缴费")).click()
    kiosk.get_by_role("button", name=re.compile("缴费基数申报")).click()
    confirm = kiosk.get_by_role("button", name="确认取号")
    assert confirm.is_disabled()  # not without the code
    keypad = kiosk.get_by_role("group", name=re.compile("统一社会信用代码"))
    for character in credit_code(42):
        keypad.get_by_role("button", name=character, exact=True).click()
    screenshot(kiosk, "kiosk-credit-code-landscape")
    confirm.click()
    assert kiosk.locator("#ticket-number").inner_text() == "Q0001"


# Elements that scroll their content (more content than room): none may, on a kiosk nobody scrolls.
SCROLLED = """() => [...document.querySelectorAll('*')]
    .filter((e) => e.scrollHeight > e.clientHeight + 1 && getComputedStyle(e).overflowY !== 'visible')
    .map((e) => `${e.tagName}.${e.className}: ${e.scrollHeight - e.clientHeight}px`)"""


@pytest.mark.parametrize(
    ("width", "height", "lang"),
    [(1366, 768, "zh"), (1366, 768, "en"), (1920, 1080, "en"), (1080, 1920, "en")],
    ids=["1366x768", "1366x768-english", "1920x1080-english", "1080x1920-english"],
)
def test_the_kiosk_start_screen_fits_without_scrolling(
    hall: Hall, width: int, height: int, lang: str
) -> None:
    kiosk = hall.page(f"/kiosk?token={hall.tokens.kiosk}&lang={lang}", width=width, height=height)
    kiosk.locator(".tile.channel").first.wait_for()
    assert kiosk.evaluate(SCROLLED) == []
    for way in kiosk.locator(".tile.channel").all():  # the other ways in, 大企业专窗 among them, in sight
        top, bottom = way.evaluate(
            "(n) => { const r = n.getBoundingClientRect(); return [r.top, r.bottom]; }"
        )
        assert top >= 0 and bottom <= height
    screenshot(kiosk, f"kiosk-start-{lang}-{width}x{height}")


# Where an element is on screen: [left, top, right, bottom] of its border box, in CSS pixels.
BOX = "(node) => { const r = node.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }"


@pytest.mark.parametrize(
    ("width", "height", "lang"),
    [(1366, 768, "zh"), (1366, 768, "en"), (1280, 1024, "zh"), (1920, 1080, "zh"), (1080, 1920, "zh")],
    ids=["1366x768", "1366x768-english", "1280x1024", "1920x1080", "1080x1920"],
)
def test_the_materials_stay_in_sight_beside_the_credit_code_keypad(
    hall: Hall, width: int, height: int, lang: str
) -> None:
    # 医疗费用报销 has the longest checklist (five items); a large enterprise may take any matter.
    kiosk = hall.page(f"/kiosk?token={hall.tokens.kiosk}&lang={lang}", width=width, height=height)
    taps = {
        "zh": ("大企业专窗", "失业医疗", "医疗费用报销"),
        "en": ("Large enterprise", "失业医疗", "Medical"),
    }
    for name in taps[lang]:
        kiosk.get_by_role("button", name=re.compile(name)).first.click()
    keypad = kiosk.locator(".keypad")
    for character in credit_code(7)[:9]:  # half the code typed: the citizen is mid-way
        keypad.get_by_role("button", name=character, exact=True).click()
    parts = {
        "materials": kiosk.locator(".materials-list"),
        "last material": kiosk.locator(".materials-list li").last,
        "code field": kiosk.locator(".code-entry input"),
        "keypad": keypad,
        "confirm": kiosk.get_by_role("button", name="确认取号" if lang == "zh" else "Take a number"),
    }
    screenshot(kiosk, f"kiosk-credit-code-{width}x{height}-{lang}")
    boxes = {name: part.evaluate(BOX) for name, part in parts.items()}
    for name, (left, top, right, bottom) in boxes.items():
        assert left >= 0 and top >= 0 and right <= width and bottom <= height, (name, boxes[name])
    # Nothing scrolled out of view, nothing laid over something else.
    scrolled = kiosk.evaluate(
        """() => { const s = document.getElementById('screen');
                   return [s.scrollTop, s.scrollHeight - s.clientHeight,
                           document.documentElement.scrollHeight - innerHeight]; }"""
    )
    assert scrolled[0] == 0 and scrolled[1] <= 1 and scrolled[2] <= 0, scrolled
    # Each item of the checklist is really seen: what lies at its middle is the item itself (not clipped by a
    # scrolling column, not under the keypad or the buttons).
    hidden_items = kiosk.evaluate(
        """() => [...document.querySelectorAll('.materials-list li')].filter((li) => {
                const r = li.getBoundingClientRect();
                const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
                return !(hit && li.contains(hit));
            }).map((li) => li.textContent)"""
    )
    assert hidden_items == [], hidden_items
    materials_right, materials_bottom = boxes["materials"][2:]
    keypad_left, keypad_top = boxes["keypad"][:2]
    assert materials_right <= keypad_left or materials_bottom <= keypad_top, boxes  # beside it, or above it
    assert kiosk.locator(".materials-list li").count() == 5
    assert kiosk.locator(".code-entry input").input_value() == credit_code(7)[:9]
    # Still a thumb's target, and legible at arm's length.
    smallest_key = keypad.evaluate(
        "(pad) => Math.min(...[...pad.querySelectorAll('button')].map((b) => b.offsetHeight))"
    )
    assert smallest_key >= 56, smallest_key
    assert float(parts["materials"].evaluate("(n) => parseFloat(getComputedStyle(n).fontSize)")) >= 28


def test_the_kiosk_says_plainly_when_the_printer_failed_and_the_ticket_was_voided(
    hall_db: Path, tmp_path: Path, browser: Any
) -> None:
    # The kiosk whose token is named 1号取号机 prints on printer-1; here it is a network printer nobody
    # answers for, so every print fails and the ticket is voided.
    config = tmp_path / "hall.toml"
    config.write_text(
        EXAMPLE_CONFIG.read_text(encoding="utf-8").replace(
            'connection = "simulated"', 'connection = "network:127.0.0.1:9"'
        ),
        encoding="utf-8",
    )
    conn = open_db(hall_db).conn
    try:
        token = create_token(conn, "kiosk", name="1号取号机")
    finally:
        conn.close()
    daemon = Daemon(hall_db, tmp_path / "daemon.log", config=config)
    daemon.start()
    errors: list[str] = []
    try:
        hall = Hall(daemon, Tokens("", "", ""), "", browser, errors)
        kiosk = hall.page(f"/kiosk?token={token}&idle=60", width=1080, height=1920)
        kiosk.get_by_role("button", name=re.compile("证明查询")).click()
        kiosk.get_by_role("button", name=re.compile("参保证明打印")).click()
        kiosk.get_by_role("button", name="确认取号").click()
        failed = kiosk.locator(".failed")
        failed.wait_for(timeout=20_000)
        said = failed.inner_text()
        assert "出票失败" in said and "E0001（已作废）" in said and "请联系工作人员" in said, said
        assert "{" not in said and "print_failed" not in said  # words, not JSON
        screenshot(kiosk, "kiosk-print-failed")
        errors.clear()  # the 503 itself is logged by the browser as a failed resource
    finally:
        for context in browser.contexts:
            context.close()
        daemon.close()


def test_the_kiosk_goes_back_to_the_start_when_nobody_touches_it(hall: Hall) -> None:
    kiosk = hall.page(f"/kiosk?token={hall.tokens.kiosk}&idle=2")
    kiosk.get_by_role("button", name=re.compile("社保卡")).first.click()
    kiosk.get_by_role("button", name=re.compile("社保卡补换")).wait_for()
    started = time.monotonic()
    kiosk.get_by_text("欢迎光临").wait_for(timeout=6000)
    assert 1.5 < time.monotonic() - started < 5


def test_the_kiosk_qr_is_the_same_code_a_standard_encoder_makes(hall: Hall) -> None:
    qrcode = pytest.importorskip("qrcode")
    kiosk = hall.page(f"/kiosk?token={hall.tokens.kiosk}")
    text = f"{hall.url}/t/AbCdEfGhIjKlMnOpQrStUv"
    for mask in (0, 3, 7):
        modules = kiosk.evaluate(
            """async ([text, mask]) => {
                const { default: q } = await import('/static/vendor/qrcodegen.js');
                const bytes = Array.from(new TextEncoder().encode(text));
                const code = q.QrCode.encodeSegments([q.QrSegment.makeBytes(bytes)],
                                                     q.QrCode.Ecc.MEDIUM, 1, 40, mask, false);
                return { version: code.version, rows: Array.from({ length: code.size },
                    (_, y) => Array.from({ length: code.size }, (_, x) => code.getModule(x, y))) };
            }""",
            [text, mask],
        )
        reference = qrcode.QRCode(
            version=modules["version"],
            error_correction=qrcode.constants.ERROR_CORRECT_M,
            border=0,
            mask_pattern=mask,
        )
        reference.add_data(text.encode(), optimize=0)
        reference.make(fit=False)
        assert modules["rows"] == [[bool(m) for m in row] for row in reference.modules], f"mask {mask}"


# -- tokens and languages ---------------------------------------------------------------------------------


def test_a_page_opened_without_a_token_asks_for_one_and_says_when_it_is_wrong(hall: Hall) -> None:
    clerk = hall.page("/clerk", width=1366, height=768)
    form = clerk.locator(".token-form")
    form.wait_for()
    assert "柜员" in form.inner_text()
    form.get_by_label("令牌").fill("hc_not-a-token")
    form.get_by_role("button", name="确定").click()
    clerk.get_by_text("令牌无效或已吊销").wait_for()
    clerk.locator(".token-form").get_by_label("令牌").fill(hall.tokens.clerk["c2"])
    clerk.locator(".token-form").get_by_role("button", name="确定").click()
    clerk.get_by_text("请选择要登录的窗口").wait_for()
    hall.errors.clear()  # the refused /api/v1/me is logged by the browser


def test_english_is_one_tap_away_and_chinese_is_the_default(hall: Hall) -> None:
    kiosk = hall.page(f"/kiosk?token={hall.tokens.kiosk}")
    kiosk.get_by_text("欢迎光临").wait_for()
    kiosk.get_by_role("button", name="Switch to English").click()
    kiosk.get_by_text("Welcome").wait_for()
    assert "Insurance registration" in text_of(kiosk)
    screenshot(kiosk, "kiosk-home-english")
    board = hall.page(f"/board?token={hall.display}&lang=en")
    board.get_by_text("Now calling").wait_for()


def test_clerk_errors_are_said_in_words(hall: Hall) -> None:
    kiosk = hall.page(f"/kiosk?token={hall.tokens.kiosk}")
    take_ticket_at_the_kiosk(kiosk, "养老保险", "待遇资格认证")
    clerk = hall.page(f"/clerk?token={hall.tokens.clerk['c3']}", width=1366, height=768)
    clerk.get_by_role("button", name="登录此窗口：3号综合窗口").click()
    clerk.wait_for_function("document.getElementById('waiting').textContent === '1'")
    clerk.keyboard.press("F1")
    clerk.locator(".badge[data-state='called']").wait_for()
    clerk.keyboard.press("F2")
    clerk.locator("#recalls", has_text="1").wait_for()
    # Transfer to the consultation window, which does not serve this: refused, in words.
    clerk.keyboard.press("F7")
    dialog = clerk.locator("dialog[open]")
    dialog.get_by_label("目标窗口").select_option(label="6号咨询窗口")
    dialog.get_by_role("button", name="确定").click()
    message = clerk.locator("#message[data-kind='error']")
    message.wait_for()
    said = message.inner_text()
    assert "6号窗口" in said and "{" not in said and "window_cannot_serve" not in said, said
    screenshot(clerk, "clerk-error")
    hall.errors.clear()  # the 409 is logged by the browser as a failed resource


def as_manager(hall: Hall, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """What the dashboard does, straight over HTTP: close or open a window, change a profile."""
    request = urllib.request.Request(
        hall.url + path,
        method=method,
        data=json.dumps(body or {}).encode(),
        headers={"Authorization": f"Bearer {hall.tokens.manager}", "Content-Type": "application/json"},
    )
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy
    with direct.open(request, timeout=10) as answer:
        return json.load(answer)


def test_the_transfer_dialog_groups_filters_and_marks_matters_no_open_window_serves(hall: Hall) -> None:
    # Late afternoon: integrated windows 1–5 are closed and the green window 8 only does social security
    # cards. A citizen with a question (业务咨询) turns out to need something else.
    for window in (1, 2, 3, 4, 5):
        as_manager(hall, "POST", f"/api/v1/windows/{window}/close")
    cards_only = {"matters": ["SBKBH", "SBKXX"], "channels": ["normal", "green"]}
    as_manager(hall, "PUT", "/api/v1/windows/8/profile", {"profile": cards_only})
    kiosk = hall.page(f"/kiosk?token={hall.tokens.kiosk}")
    take_ticket_at_the_kiosk(kiosk, "业务咨询", "业务咨询")
    clerk = hall.page(f"/clerk?token={hall.tokens.clerk['c6']}", width=1366, height=768)
    clerk.get_by_role("button", name="登录此窗口：6号咨询窗口").click()
    clerk.wait_for_function("document.getElementById('waiting').textContent === '1'")
    clerk.locator("button[data-action='call-next']:enabled").wait_for()  # the login's answer is in
    clerk.keyboard.press("F1")
    clerk.locator("#current-number", has_text="Z0001").wait_for()
    clerk.keyboard.press("F7")
    dialog = clerk.locator("dialog[open]")

    def row(code: str) -> Any:
        return dialog.locator(f".transfer-matter[data-code='{code}']")

    def shown() -> list[str]:
        return list(
            dialog.locator(".transfer-matter:visible").evaluate_all("(rs) => rs.map((r) => r.dataset.code)")
        )

    # Grouped as the hall groups its matters, in the hall's order.
    headings = dialog.locator(".transfer-group h3").all_inner_texts()
    assert headings == ["参保缴费", "社保卡", "养老保险", "失业医疗", "证明查询", "业务咨询"]
    # Only closed windows do 参保登记: marked, with the reason, and it cannot be ticked.
    assert row("CBDJ").get_attribute("data-reach") == "closed"
    assert "不可转：办理窗口均已关闭" in row("CBDJ").inner_text()
    assert row("CBDJ").locator("input").is_disabled()
    assert row("SBKBH").locator("input").is_enabled() and "不可转" not in row("SBKBH").inner_text()
    assert "当前事项" in row("ZX").inner_text() and row("ZX").locator("input").is_enabled()
    assert dialog.locator(".transfer-matter.unavailable").count() == 10  # 12 business matters, less the cards
    assert clerk.evaluate(UNNAMED_BUTTONS) == []
    assert clerk.evaluate(LOW_CONTRAST, 4.5) == []  # the reasons are legible, not greyed away
    screenshot(clerk, "clerk-transfer-dialog")

    # The filter: by name, by pinyin initials, by code; nothing found is said.
    search = dialog.get_by_label("筛选事项")
    assert search.evaluate("(node) => node === document.activeElement")  # type at once after F7
    search.fill("社保")
    assert shown() == ["SBKBH", "SBKXX"]
    assert dialog.locator(".transfer-group:visible h3").all_inner_texts() == ["社保卡"]
    search.fill("ylbx")  # 养老保险关系转移
    assert shown() == ["YLZY"]
    search.fill("cbzm")
    assert shown() == ["CBZM"]
    search.fill("退休待遇ZZZ")
    assert shown() == [] and dialog.get_by_text("没有匹配的事项").is_visible()
    screenshot(clerk, "clerk-transfer-dialog-no-match")
    search.fill("")

    # Window 1 opens while the dialog is open: its matters become available there and then.
    as_manager(hall, "POST", "/api/v1/windows/1/open")
    row("CBDJ").locator("input:enabled").wait_for()
    assert row("CBDJ").get_attribute("data-reach") == "open"
    assert dialog.locator(".transfer-matter.unavailable").count() == 0

    # Cards with a question: no one open window does both, so it cannot be sent.
    confirm = dialog.get_by_role("button", name="确定")
    row("SBKBH").locator("input").check()
    row("ZX").locator("input").check()
    assert "没有一个开放的窗口能同时办理所选事项" in dialog.locator(".transfer-warning").inner_text()
    assert confirm.is_disabled()
    screenshot(clerk, "clerk-transfer-dialog-bundle")
    row("ZX").locator("input").uncheck()
    search.fill("cbdj")
    search.press("Enter")  # the one matter left by the filter is ticked
    assert dialog.locator(".transfer-chosen").inner_text() == "已选：参保登记、社保卡补换"
    assert confirm.is_enabled() and dialog.locator(".transfer-warning").is_hidden()
    with clerk.expect_request(lambda request: request.url.endswith("/api/v1/windows/6/transfer")) as sent:
        confirm.click()
    assert sent.value.post_data_json == {"reason": "", "matters": ["CBDJ", "SBKBH"]}
    clerk.get_by_text("当前没有号票").wait_for()


def test_the_transfer_dialog_judges_windows_as_the_routing_core_does(hall: Hall) -> None:
    """The page's mirror of the routing rules (clerk_transfer.js) agrees with hallctl/core/routing.py on
    whether a window would ever take a ticket: every window of the example hall, every channel, every
    matter and pair of matters, sent to no window or to each window."""
    config = load_config(EXAMPLE_CONFIG)
    statuses = [
        WindowStatus(w.id, w.kind, w.name, w.zone, w.profile, config.profiles[w.profile])
        for w in sorted(config.windows, key=lambda w: w.id)  # as GET /api/v1/windows lists them
    ]
    consultation = routing.consultation_matters(statuses)
    codes = [m.code for m in config.matters]
    bundles = [[code] for code in codes] + [list(pair) for pair in itertools.combinations(codes, 2)]
    channels: list[Channel] = ["normal", "enterprise", "green", "appointment"]
    targets = [0, *(w.id for w in statuses)]
    expected: list[bool] = []
    for window in statuses:
        for matters in bundles:
            for channel in channels:
                for target in targets:
                    head = Ticket(1, "X0001", "X", 1, "", tuple(matters), channel, 0.0, "")
                    key = (tuple(matters), channel, target)
                    tier = routing.bucket_tier(window, key, head, 1e9, consultation)  # long waited, long idle
                    expected.append(tier is not None)
    clerk = hall.page(f"/clerk?token={hall.tokens.clerk['c1']}", width=1366, height=768)
    clerk.get_by_text("请选择要登录的窗口").wait_for()
    answered = clerk.evaluate(
        """async ([token, bundles, channels, targets]) => {
            const m = await import('/static/clerk_transfer.js');
            const headers = { Authorization: `Bearer ${token}` };
            const { windows } = await (await fetch('/api/v1/windows', { headers })).json();
            const consultation = m.consultationMatters(windows);
            const out = [];
            for (const w of windows) for (const matters of bundles) for (const channel of channels)
                for (const target of targets)
                    out.push(m.windowTakes(w, matters, channel, consultation, { target: target || null }));
            return out;
        }""",
        [hall.tokens.clerk["c1"], bundles, channels, targets],
    )
    assert len(answered) == len(expected)
    disagree = [i for i, (js, py) in enumerate(zip(answered, expected, strict=True)) if js != py]
    assert disagree == [], f"{len(disagree)} of {len(expected)} differ"
    assert 0 < sum(expected) < len(expected)  # both answers occur: the comparison means something


# -- accessibility basics ---------------------------------------------------------------------------------

UNNAMED_BUTTONS = """() => [...document.querySelectorAll('button, [role=button]')]
    .filter((b) => b.offsetParent !== null)
    .filter((b) => !((b.getAttribute('aria-label') || b.innerText || b.title || '').trim()))
    .map((b) => b.outerHTML.slice(0, 120))"""

# Every visible piece of text against the colour behind it (WCAG 2 relative luminance).
LOW_CONTRAST = """(minimum) => {
    const parse = (c) => {
        const m = c.match(/[\\d.]+/g).map(Number);
        return { rgb: m.slice(0, 3), a: m[3] ?? 1 };
    };
    const channel = (v) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    const lum = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
    const background = (node) => {
        for (let n = node; n; n = n.parentElement) {
            const bg = parse(getComputedStyle(n).backgroundColor);
            if (bg.a > 0.5) return bg.rgb;
        }
        return [255, 255, 255];
    };
    const bad = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
        const node = walker.currentNode.parentElement;
        if (!walker.currentNode.textContent.trim() || !node || node.offsetParent === null) continue;
        const style = getComputedStyle(node);
        if (style.visibility === 'hidden' || parseFloat(style.opacity) === 0) continue;
        if (node.closest('button:disabled')) continue;  // WCAG exempts inactive controls
        const fg = lum(parse(style.color).rgb), bg = lum(background(node));
        const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
        const text = walker.currentNode.textContent.trim().slice(0, 30);
        if (ratio < minimum) bad.push(`${ratio.toFixed(2)} ${node.tagName} ${text}`);
    }
    return bad;
}"""


def test_every_button_has_a_name_and_all_text_has_enough_contrast(hall: Hall) -> None:
    kiosk = hall.page(f"/kiosk?token={hall.tokens.kiosk}", width=1080, height=1920)
    ticket = take_ticket_at_the_kiosk(kiosk, "失业医疗", "医疗费用报销")
    pages = {
        "kiosk": kiosk,
        "board": hall.page(f"/board?token={hall.display}"),
        "dashboard": hall.page(f"/dashboard?token={hall.tokens.manager}"),
        "clerk": hall.page(f"/clerk?token={hall.tokens.clerk['c4']}", width=1366, height=768),
        "phone": hall.page(f"/t/{ticket['qr_url'].rsplit('/t/', 1)[1]}", width=390, height=844),
    }
    pages["clerk"].get_by_role("button", name="登录此窗口：4号综合窗口").click()
    pages["clerk"].get_by_role("button", name=re.compile("叫号")).first.wait_for()
    kiosk.get_by_role("button", name="完成").click()
    for name, page in pages.items():
        page.locator("#live[data-state='live'], .tile").first.wait_for()
        assert page.evaluate(UNNAMED_BUTTONS) == [], name
        # WCAG AA for normal text; the board is read from afar, so it is held to AAA.
        minimum = 7.0 if name == "board" else 4.5
        assert page.evaluate(LOW_CONTRAST, minimum) == [], name


def test_the_board_is_readable_from_ten_metres_in_landscape_and_portrait(hall: Hall) -> None:
    kiosk = hall.page(f"/kiosk?token={hall.tokens.kiosk}")
    ticket = take_ticket_at_the_kiosk(kiosk, "社保卡", "社保卡补换")
    for layout, width, height in (("landscape", 1920, 1080), ("portrait", 1080, 1920)):
        board = hall.page(f"/board?token={hall.display}", width=width, height=height)
        board.locator("#live[data-state='live']").wait_for()
        assert ("portrait" in str(board.locator("body").get_attribute("class"))) == (layout == "portrait")
        # Text read from 10 m needs letters about 3 cm high: 48 px on a 55" 1080p screen.
        smallest = board.evaluate(
            """() => {
                const texts = [...document.querySelectorAll('main *, header h1, .board-clock time, #notices')]
                    .filter((n) => n.offsetParent !== null)
                    .filter((n) => [...n.childNodes].some((c) => c.nodeType === 3 && c.textContent.trim()));
                return Math.min(...texts.map((n) => parseFloat(getComputedStyle(n).fontSize)));
            }"""
        )
        assert smallest >= 44, f"{layout}: text as small as {smallest}px"
        assert ticket["number"] not in text_of(board)  # nobody called yet
        # Nothing runs off the screen.
        overflow = board.evaluate(
            "() => document.documentElement.scrollWidth > innerWidth"
            " || document.documentElement.scrollHeight > innerHeight"
        )
        assert not overflow, layout
        screenshot(board, f"board-{layout}")


def test_the_dashboard_changes_a_window_profile_only_after_confirmation(hall: Hall) -> None:
    dashboard = hall.page(f"/dashboard?token={hall.tokens.manager}")
    dashboard.locator("#live[data-state='live']").wait_for()
    # exact: the confirmation dialog is labelled "更改2号综合窗口的业务配置？" while it closes
    select = dashboard.get_by_label("2号综合窗口的业务配置", exact=True)
    select.select_option("green")
    dialog = dashboard.locator("dialog[open]")
    assert "下一次叫号起生效" in dialog.inner_text()
    dialog.get_by_role("button", name="取消").click()
    # the page puts the old profile back once the dialog has closed (asynchronously): wait for it
    dashboard.locator("dialog[open]").wait_for(state="detached")
    dashboard.wait_for_function("document.querySelector('select[data-window=\"2\"]').value === 'integrated'")
    assert select.input_value() == "integrated"
    select.select_option("green")
    dashboard.locator("dialog[open]").get_by_label("原因（可不填）").fill("午间绿色通道人多")
    dashboard.locator("dialog[open]").get_by_role("button", name="确定").click()
    dashboard.get_by_text("已生效").wait_for()
    dashboard.wait_for_function("document.querySelector('select[data-window=\"2\"]').value === 'green'")
    dashboard.get_by_role("button", name="关闭 5号综合窗口").click()
    dashboard.locator("dialog[open]").get_by_role("button", name="确定").click()
    dashboard.locator("#windows tr[data-window='5'] .badge[data-state='closed']").wait_for()
    screenshot(dashboard, "dashboard-after-changes")


def followup_figures(dashboard: Page) -> tuple[str, str]:
    """The 差评整改 card's figures: cases not closed, and how many of them are overdue."""
    return dashboard.locator("#sum-followups").inner_text(), dashboard.locator("#sum-overdue").inner_text()


def test_the_dashboard_card_turns_the_alert_colour_for_an_overdue_bad_rating_case(
    hall: Hall, hall_db: Path
) -> None:
    today = datetime.date.today()
    open_followup(hall_db, due_day=today + datetime.timedelta(days=5))
    dashboard = hall.page(f"/dashboard?token={hall.tokens.manager}")
    dashboard.locator("#live[data-state='live']").wait_for()
    card = dashboard.locator("#sum-followups-card")
    assert followup_figures(dashboard) == ("1", "0")  # open, overdue
    assert card.get_attribute("data-level") == "ok"
    calm = card.evaluate("node => getComputedStyle(node).backgroundColor")

    open_followup(hall_db, due_day=today - datetime.timedelta(days=3))  # its deadline has passed
    dashboard.reload(wait_until="load")
    dashboard.locator("#sum-followups-card[data-level='alert']").wait_for()
    assert followup_figures(dashboard) == ("2", "1")
    assert "其中逾期" in card.inner_text()
    assert card.evaluate("node => getComputedStyle(node).backgroundColor") != calm
    screenshot(dashboard, "dashboard-overdue-followup")


@pytest.fixture(scope="module", autouse=True)
def _fresh_artifacts() -> None:
    """Each run's screenshots replace the last run's."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)


HISTORY_ROW = """
    insert into tickets (number, prefix, seq, day, matters, channel, issued_at, track_token, state,
        queue_key, window, clerk, called_at, first_called_at, started_at, finished_at)
    values (?, 'A', ?, ?, '["CBDJ"]', 'normal', ?, ?, 'done', ?, 1, 'c1', ?, ?, ?, ?)
"""


def _last_weeks_tickets(db: Path, per_hour: int, service_minutes: float) -> None:
    """Served tickets of 参保登记 at window 1, ``per_hour`` in every hour of the same weekday a week ago: the
    history the dashboard's staffing advice learns from (written as the daemon wrote its own last week)."""
    zone = datetime.timezone(datetime.timedelta(hours=8))  # the example hall's Asia/Shanghai, no DST
    day = datetime.datetime.now(zone).date() - datetime.timedelta(days=7)
    conn = open_db(db).conn
    try:
        with conn:
            for hour in range(24):
                for i in range(per_hour):
                    issued = datetime.datetime.combine(day, datetime.time(hour, 5 * i), zone).timestamp()
                    seq = hour * per_hour + i + 1
                    conn.execute(
                        HISTORY_ROW,
                        (
                            f"A{seq:04d}", seq, day.isoformat(), issued, f"history-{seq}", issued,
                            issued + 60, issued + 60, issued + 60, issued + 60 + service_minutes * 60,
                        ),
                    )  # fmt: skip
    finally:
        conn.close()


def test_the_dashboard_advises_windows_per_hour_and_simulates_one_more(hall: Hall, hall_db: Path) -> None:
    _last_weeks_tickets(hall_db, per_hour=6, service_minutes=8)
    dashboard = hall.page(f"/dashboard?token={hall.tokens.manager}")
    rows = dashboard.locator("#advice tr")
    rows.first.wait_for()
    assert rows.count() == 24  # one row per hour of the pool that served them, the integrated windows
    first = rows.first.inner_text()
    assert "00:00" in first and "综合窗口" in first and "6.0" in first
    assert "5（+1 兼办）" in first  # the green-channel window lends a hand with ordinary tickets
    assert "依据" in dashboard.locator("#advice-basis").inner_text()

    form = dashboard.locator("#whatif")
    form.locator("input[name=extra]").fill("2")
    form.get_by_role("button", name="试算").click()
    result = dashboard.locator("#whatif-result")
    result.filter(has_text="平均等候由").wait_for(timeout=60_000)  # a simulation in the worker process
    assert "增开 2 个综合窗口" in result.inner_text()
    assert dashboard.locator("#whatif-hours tr").count() >= 1
    screenshot(dashboard, "dashboard-staffing-advice")

    # a lunch break: nobody is at a window yet, so the page says why it cannot simulate one fewer ...
    form.locator("select[name=direction]").select_option("fewer")
    form.locator("input[name=extra]").fill("1")
    form.get_by_role("button", name="试算").click()
    result.filter(has_text="无法试算").wait_for(timeout=60_000)
    assert "只有 0 个" in result.inner_text()
    hall.errors.clear()  # the browser logs the 422 as a failed resource
    # ... and once a clerk sits down at window 1, it simulates the window closing
    clerk = urllib.request.Request(
        hall.url + "/api/v1/windows/1/login",
        method="POST",
        data=b"{}",
        headers={"Authorization": f"Bearer {hall.tokens.clerk['c1']}", "Content-Type": "application/json"},
    )
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(clerk, timeout=10):
        pass
    form.get_by_role("button", name="试算").click()
    result.filter(has_text="减少 1 个综合窗口").wait_for(timeout=60_000)
    assert "平均等候由" in result.inner_text()
