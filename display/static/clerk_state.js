// What the clerk terminal knows (the desk from the live stream, the windows, the matters), its token, and
// the rules for which action the desk allows now; the rendering, the actions and the start share it.
import { say } from "/static/common.js";
import { staffSession } from "/static/staff_page.js";

export const view = {
  clerk: null,
  desk: null,
  windows: [],
  matters: [],
  timezone: undefined,
  lastRating: null,
};
export const staff = staffSession({ page: "clerk", roleKey: "role_clerk", roles: ["clerk"], session: true });
// busy: an action is on its way (every button waits); picker: the transfer dialog's picker while it is
// open, so that windows changing re-mark it.
export const ui = { busy: false, picker: null };

export const message = (text, kind = "ok") => say(document.getElementById("message"), text, kind);

// The keys: F1–F10 (F5 would reload the page; here it does nothing, so a stray press loses nothing).
export const KEYS = {
  F1: "call-next",
  F2: "recall",
  F3: "start",
  F4: "finish",
  F6: "no-show",
  F7: "transfer",
  F8: "suspend",
  F9: "resume",
  F10: "pause",
};
export const KEY_OF = Object.fromEntries(Object.entries(KEYS).map(([key, action]) => [action, key]));

export function windowName(w) {
  return w ? w.name || `${w.id}号窗口` : "";
}

/** Whether the desk allows ``action`` now (the daemon checks again; this keeps the buttons honest). */
export function allowed(action) {
  const desk = view.desk;
  if (!desk || !desk.window) return false;
  const w = desk.window;
  const ticket = desk.ticket;
  const state = ticket ? ticket.state : null;
  switch (action) {
    case "call-next":
      return w.state === "open" && !ticket;
    case "recall":
    case "start":
    case "no-show":
      return state === "called";
    case "finish":
      return state === "serving";
    case "transfer":
    case "suspend":
      return state === "called" || state === "serving";
    case "resume":
      return !ticket && desk.suspended.length > 0 && w.state !== "closed";
    case "pause":
      return w.state === "open" || w.state === "paused";
    case "rate":
      return true;
    default:
      return false;
  }
}
