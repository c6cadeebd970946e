// The kiosk (自助取号机): choose a matter group and a matter (or a channel: green, large enterprise with
// its credit code, an appointment code), read the materials to bring (一次性告知), take the ticket, and
// see it on screen with a QR for the phone page while the printer prints.
//
// It uses only what a kiosk token may: GET /api/v1/hall, GET /api/v1/matters, POST /api/v1/tickets.
//
// This module starts the page: the token, the clock, going back to the start when untouched. Beside it:
// kiosk_strings.js (the words), kiosk_state.js (what the kiosk knows, kept fresh), kiosk_parts.js (tiles
// and the code keypad), kiosk_screens.js (choosing), kiosk_ticket.js (the ticket, its QR, a failed print).
import "/static/kiosk_strings.js";
import { applyStrings, askToken, formatClock, languageButton, t, takeToken } from "/static/common.js";
import { showHome } from "/static/kiosk_screens.js";
import { IDLE_SECONDS, kiosk, refreshHall, refreshMatters } from "/static/kiosk_state.js";

let idleTimer = null;

function touched() {
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    if (kiosk.redraw !== showHome) showHome();
  }, IDLE_SECONDS * 1000);
}

function tickClock() {
  document.getElementById("clock").textContent = formatClock(new Date(), kiosk.hall ? kiosk.hall.timezone : undefined);
}

async function start() {
  kiosk.home = showHome;
  applyStrings();
  languageButton(document.getElementById("lang"), () => {
    kiosk.redraw();
    tickClock();
  });
  for (const kind of ["pointerdown", "keydown"]) document.addEventListener(kind, touched, { capture: true });
  kiosk.token = takeToken("kiosk");
  if (!kiosk.token) kiosk.token = await askToken("kiosk", t("role_kiosk"));
  await refreshHall();
  await refreshMatters();
  showHome();
  tickClock();
  setInterval(tickClock, 10_000);
  setInterval(refreshHall, 60_000);
}

start();
