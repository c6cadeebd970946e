// The clerk terminal's screen: the window picker before login, then the desk — the ticket at the window
// with its facts and materials, the action buttons with their keys, and the parked (挂起) tickets. It draws
// from clerk_state.js; what a button does is clerk_actions.js's, handed in with onAction (no import cycle).
import { clear, el, hallNow, t, timeOf } from "/static/common.js";
import { KEY_OF, allowed, ui, view, windowName } from "/static/clerk_state.js";

let act = () => {};

/** What a button does: ``handler(action, windowId, body)``. */
export function onAction(handler) {
  act = handler;
}

/** Draw the page from ``view``: the header line, then the picker or the desk. */
export function render() {
  const main = document.getElementById("main");
  const desk = view.desk;
  const atWindow = desk && desk.window;
  document.getElementById("logout").hidden = !atWindow;
  document.getElementById("waiting-box").hidden = !atWindow;
  document.getElementById("where").textContent = atWindow
    ? `${windowName(desk.window)} · ${view.clerk} · ${t(`window_${desk.window.state}`)}`
    : view.clerk || "";
  main.classList.toggle("picking", !atWindow);
  if (!desk) return;
  if (!atWindow) {
    clear(main, renderPicker());
    return;
  }
  document.getElementById("waiting").textContent = String(desk.waiting);
  clear(main, renderTicket(), renderActions());
}

function renderPicker() {
  return el(
    "section",
    { class: "panel", "aria-labelledby": "pick-title" },
    el("h2", { id: "pick-title" }, t("pick_window")),
    el(
      "div",
      { class: "window-grid" },
      view.windows.map((w) => {
        const free = w.state !== "closed" && !w.clerk;
        return el(
          "div",
          { class: "panel window-card" },
          el("h3", {}, windowName(w)),
          el("p", {}, el("span", { class: "badge", "data-state": w.state }, t(`window_${w.state}`))),
          el("p", {}, w.clerk ? t("taken_by", { clerk: w.clerk }) : t("free")),
          el(
            "button",
            {
              type: "button",
              class: "primary",
              disabled: !free,
              "aria-label": `${t("login")}：${windowName(w)}`,
              onclick: () => act("login", w.id),
            },
            t("login"),
          ),
        );
      }),
    ),
  );
}

function renderTicket() {
  const desk = view.desk;
  const ticket = desk.ticket;
  const panel = el("section", { class: "panel", "aria-labelledby": "current-title" });
  panel.append(el("h2", { id: "current-title" }, t("current")));
  if (!ticket) {
    panel.append(el("p", { class: "idle" }, t("nobody")));
  } else {
    const waitedMinutes = Math.max(0, Math.round((hallNow() - new Date(ticket.issued_at)) / 60000));
    panel.append(
      el(
        "div",
        {},
        el("span", { class: "current-number", id: "current-number" }, ticket.number),
        " ",
        el("span", { class: "badge", "data-state": ticket.state }, t(`state_${ticket.state}`)),
      ),
      el(
        "dl",
        { class: "facts" },
        el("dt", {}, t("matters")),
        el("dd", {}, ticket.matter_names.join("、")),
        el("dt", {}, t("channel")),
        el("dd", {}, t(`channel_${ticket.channel}`)),
        el("dt", {}, t("issued")),
        el("dd", {}, timeOf(ticket.issued_at, view.timezone)),
        el("dt", {}, t("waited")),
        el("dd", {}, t("minutes_ago", { n: waitedMinutes })),
        el("dt", {}, t("recalls")),
        el("dd", { id: "recalls" }, String(ticket.recalls)),
        ticket.transfers ? el("dt", {}, t("transfers")) : null,
        ticket.transfers ? el("dd", {}, String(ticket.transfers)) : null,
      ),
      el(
        "div",
        { class: "materials" },
        el("h2", {}, t("materials")),
        (ticket.materials || []).map((m) =>
          el(
            "div",
            {},
            (ticket.materials || []).length > 1 ? el("h3", {}, m.name) : null,
            m.materials.length
              ? el(
                  "ul",
                  {},
                  m.materials.map((item) => el("li", {}, item)),
                )
              : el("p", {}, t("no_materials")),
          ),
        ),
      ),
    );
  }
  if (desk.rating) {
    const { rated, ticket: number } = desk.rating;
    const known = view.lastRating && view.lastRating.ticket === number ? view.lastRating : null;
    let text = t("rating_waiting", { ticket: number });
    if (rated) text = known ? t("rating_done", { level: known.level_name, ticket: number }) : t("rating_rated", { ticket: number });
    panel.append(el("p", { class: "rating", "data-rated": String(rated) }, text));
  }
  return panel;
}

/** A desk button: ``name`` is its data-action (the finish outcomes share one action), ``key`` its F-key. */
function actionButton(action, text, { extraClass = null, name = action, key = KEY_OF[action], body = null } = {}) {
  return el(
    "button",
    {
      type: "button",
      class: extraClass,
      disabled: ui.busy || !allowed(action),
      "aria-keyshortcuts": key,
      "data-action": name,
      onclick: () => act(action, null, body),
    },
    el("span", {}, text),
    key ? el("kbd", {}, key) : null,
  );
}

function renderActions() {
  const desk = view.desk;
  const paused = desk.window.state === "paused";
  const finish = (outcome, text) =>
    actionButton("finish", text, {
      name: `finish-${outcome}`,
      key: outcome === "completed" ? "F4" : null,
      body: { outcome },
    });
  const panel = el(
    "section",
    { class: "panel", "aria-label": t("title") },
    el(
      "div",
      { class: "actions" },
      actionButton("call-next", t("call"), { extraClass: "call" }),
      actionButton("recall", t("recall")),
      actionButton("start", t("start")),
      el(
        "div",
        { class: "finish-row" },
        finish("completed", t("finish")),
        finish("rejected", t("rejected")),
        finish("incomplete", t("incomplete")),
      ),
      actionButton("no-show", t("no_show")),
      actionButton("transfer", t("transfer")),
      actionButton("suspend", t("suspend")),
      actionButton("resume", t("resume")),
      actionButton("pause", paused ? t("unpause") : t("pause")),
      actionButton("rate", t("rate")),
    ),
  );
  if (desk.suspended.length) {
    panel.append(
      el(
        "div",
        { class: "suspended" },
        el("h2", {}, t("suspended")),
        el(
          "ul",
          {},
          desk.suspended.map((s) =>
            el(
              "li",
              {},
              el("span", {}, `${s.number} · ${s.matter_names.join("、")}`),
              el(
                "button",
                {
                  type: "button",
                  class: "secondary",
                  disabled: ui.busy || !allowed("resume"),
                  "aria-label": `${t("resume")} ${s.number}`,
                  onclick: () => act("resume", null, { ticket: s.id }),
                },
                t("resume"),
              ),
            ),
          ),
        ),
      ),
    );
  }
  return panel;
}
