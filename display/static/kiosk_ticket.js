// The kiosk's last step: take the ticket (POST /api/v1/tickets) and show it — number, people ahead, expected
// wait and a QR for the phone page — or say why there is none (a failed print voided it); then count down
// back to the start.
import qrcodegen from "/static/vendor/qrcodegen.js";
import { api, clear, el, minutesText, t } from "/static/common.js";
import { nav } from "/static/kiosk_parts.js";
import { IDLE_SECONDS, kiosk, lostToken, problem, refreshMatters, screen } from "/static/kiosk_state.js";

let countdownTimer = null;

/** Ask for the ticket ``body`` describes; ``button`` (the one pressed) waits meanwhile. */
export async function issue(body, button) {
  problem("");
  button.disabled = true;
  const label = button.textContent;
  button.textContent = t("issuing");
  try {
    const ticket = await api("/api/v1/tickets", { method: "POST", body, token: kiosk.token });
    showTicket(ticket);
    refreshMatters();
  } catch (error) {
    button.disabled = false;
    button.textContent = label;
    if (error.code === "print_failed") showPrintFailed(error);
    else if (error.status === 401) await lostToken(t("token_bad"));
    else if (error.code === "role_forbidden") await lostToken(t("token_role", { role: t("role_kiosk") }));
    else problem(error.message);
  }
}

function phoneUrl(ticket) {
  // The printed ticket's QR opens {public_url}/t/{track_token}; a loopback public_url (the default) is no
  // use to a phone, so this page's own address stands in for it.
  let base = kiosk.hall.public_url || location.origin;
  try {
    if (["127.0.0.1", "localhost", "[::1]"].includes(new URL(base).hostname)) base = location.origin;
  } catch {
    base = location.origin;
  }
  return `${base.replace(/\/$/, "")}/t/${encodeURIComponent(ticket.track_token)}`;
}

function qrSvg(text) {
  const qr = qrcodegen.QrCode.encodeText(text, qrcodegen.QrCode.Ecc.MEDIUM);
  const quiet = 4;
  const size = qr.size + quiet * 2;
  let path = "";
  for (let y = 0; y < qr.size; y++) {
    for (let x = 0; x < qr.size; x++) {
      if (qr.getModule(x, y)) path += `M${x + quiet},${y + quiet}h1v1h-1z`;
    }
  }
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${size} ${size}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", t("qr_label"));
  svg.setAttribute("shape-rendering", "crispEdges");
  svg.dataset.url = text;
  svg.dataset.size = String(qr.size);
  svg.innerHTML = `<rect width="${size}" height="${size}" fill="#fff"/><path d="${path}" fill="#000"/>`;
  return svg;
}

function showTicket(ticket) {
  kiosk.redraw = () => showTicket(ticket);
  const names = ticket.materials ? ticket.materials.map((m) => m.name) : ticket.matter_names;
  lastScreen(
    [
      el(
        "section",
        { class: "ticket", "aria-labelledby": "ticket-number", dataset: { ticketId: String(ticket.id) } },
        el(
          "div",
          {},
          el("p", { class: "lead" }, t("your_number")),
          el("div", { class: "number", id: "ticket-number" }, ticket.number),
          el("div", { class: "matter" }, names.join("、")),
          el(
            "dl",
            {},
            el("dt", {}, t("ahead")),
            el("dd", { id: "ticket-ahead" }, t("people", { n: ticket.ahead })),
            el("dt", {}, t("eta")),
            el("dd", { id: "ticket-eta" }, minutesText(ticket.eta_minutes)),
          ),
        ),
        el("figure", { class: "qr" }, qrSvg(phoneUrl(ticket)), el("figcaption", {}, t("scan"))),
      ),
      el("p", { class: "printed" }, t("printed")),
      el("p", { class: "lead" }, t("watch")),
    ],
    t("done"),
  );
}

function showPrintFailed(error) {
  kiosk.redraw = () => showPrintFailed(error);
  const voided = error.body && error.body.ticket;
  lastScreen(
    el(
      "div",
      { class: "failed", role: "alert" },
      el("p", {}, t("print_failed_title")),
      voided ? el("p", { class: "voided" }, t("voided", { number: voided.number })) : null,
      el("p", {}, error.message),
    ),
    t("home"),
  );
}

/** A screen that ends the visit: ``parts``, a countdown back to the start, and a button there now. */
function lastScreen(parts, homeText) {
  const countdown = el("p", { class: "countdown", role: "timer" });
  const home = el("button", { type: "button", class: "primary", onclick: () => kiosk.home() }, homeText);
  clear(screen(), parts, countdown, nav(home));
  startCountdown(countdown);
}

function startCountdown(node) {
  let left = IDLE_SECONDS;
  clearTimeout(countdownTimer);
  const step = () => {
    node.textContent = t("countdown", { n: left });
    if (left <= 0) {
      kiosk.home();
      return;
    }
    left -= 1;
    countdownTimer = setTimeout(step, 1000);
  };
  step();
}

export function stopCountdown() {
  clearTimeout(countdownTimer);
}
