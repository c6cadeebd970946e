// The clerk's terminal (柜员工作台): log in to a window, then call, recall, start, finish, mark a
// no-show, transfer, suspend and resume, pause; with F1–F10. The desk (the ticket at the window, its
// materials, who waits) comes from the live stream; the buttons call the window API.
//
// This module starts the page and wires the stream; beside it: clerk_strings.js (the words),
// clerk_state.js (what the page knows, what the desk allows), clerk_desk.js (drawing the screen),
// clerk_actions.js (the buttons and keys), clerk_transfer.js (the transfer picker), staff_page.js (the
// token and stream, shared with the dashboard).
import "/static/clerk_strings.js";
import { api, applyStrings, clockFrom, languageButton, t } from "/static/common.js";
import { act, onKey } from "/static/clerk_actions.js";
import { onAction, render } from "/static/clerk_desk.js";
import { message, staff, ui, view } from "/static/clerk_state.js";

async function start() {
  onAction(act);
  applyStrings();
  languageButton(document.getElementById("lang"), render);
  document.addEventListener("keydown", onKey);
  document.getElementById("logout").addEventListener("click", () => act("logout"));
  document.getElementById("forget").addEventListener("click", staff.forget);
  if (!(await staff.begin(t("needs_clerk")))) return;
  try {
    view.matters = (await api("/api/v1/matters", { token: staff.token })).matters;
  } catch (error) {
    message(error.message, "error");
  }
  staff.live("clerk", document.getElementById("live"), {
    snapshot(data) {
      clockFrom(data.now);
      view.timezone = data.hall.timezone;
      view.clerk = data.clerk;
      view.desk = data.desk;
      view.windows = data.windows;
      if (ui.picker) ui.picker.update(view.windows);
      document.title = `${t("title")} · ${data.hall.name}`;
      render();
    },
    desk(desk) {
      view.desk = desk;
      render();
    },
    window(w) {
      view.windows = view.windows.map((x) => (x.id === w.id ? w : x));
      if (view.desk && view.desk.window && view.desk.window.id === w.id) view.desk.window = w;
      if (ui.picker) ui.picker.update(view.windows);
      render();
    },
    waiting(data) {
      if (view.desk && view.desk.window && view.desk.window.id === data.window) {
        view.desk.waiting = data.waiting;
        document.getElementById("waiting").textContent = String(data.waiting);
      }
    },
    rating(data) {
      view.lastRating = data;
      message(t("rating_in", { level: data.level_name, ticket: data.ticket }), "ok");
      render();
    },
  });
}

start();
