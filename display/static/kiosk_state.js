// What the kiosk knows — its token, the hall and its matters (GET /api/v1/hall, GET /api/v1/matters), what
// the citizen has chosen so far — and keeping that fresh; the screens, the ticket and the start share it.
import { api, askToken, forgetToken, params, say, t } from "/static/common.js";

// Back to the start after this long without a touch (?idle=SECONDS for testing or a slower hall).
export const IDLE_SECONDS = Number(params.get("idle")) || 30;

export const kiosk = {
  token: null,
  hall: null,
  matters: [],
  flow: null, // what the citizen has chosen so far
  redraw: () => {}, // draws the screen on show again (after a language switch)
  home: () => {}, // the start screen: kiosk.js sets it (kiosk_screens.js draws it; no import cycle)
};

export const screen = () => document.getElementById("screen");
export const problem = (message) => say(document.getElementById("problem"), message, "error");

export async function refreshMatters() {
  try {
    kiosk.matters = (await api("/api/v1/matters", { token: kiosk.token })).matters;
  } catch {
    // keep the list we have; the next issue says what is wrong
  }
}

export async function refreshHall() {
  try {
    kiosk.hall = await api("/api/v1/hall", { token: kiosk.token });
    document.getElementById("hall-name").textContent = kiosk.hall.name;
    document.title = `${kiosk.hall.name} · ${t("title")}`;
    say(document.getElementById("closed"), kiosk.hall.open_now ? "" : t("closed"), "error");
  } catch (error) {
    if (error.status === 401) await lostToken(t("token_bad"));
  }
}

/** The token was refused: forget it, ask for another, and start over with it. */
export async function lostToken(message) {
  forgetToken("kiosk");
  kiosk.token = await askToken("kiosk", t("role_kiosk"), message);
  await refreshHall();
  await refreshMatters();
  kiosk.home();
}
