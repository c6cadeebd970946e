// The dashboard's windows table: each window's state, clerk, ticket and figures, and for a manager the
// controls — open or close it, change its profile (业务配置) — each confirmed (with an optional reason,
// journaled) before the manager API is called.
import { api, clear, confirmDialog, duration, el, t } from "/static/common.js";
import { message, staff, view, windowName } from "/static/dashboard_state.js";
import { reasonField } from "/static/staff_page.js";

let windowsPending = false;

/** Draw the table now, or as soon as the manager has left a profile menu or a dialog. */
export function renderWindows() {
  // Not while the manager is choosing a profile or confirming: the rebuilt row would close the menu.
  if (document.querySelector("#windows select:focus, dialog[open]")) {
    windowsPending = true;
    return;
  }
  windowsPending = false;
  const rows = view.windows.map((w) => {
    const figures = (view.stats && view.stats.windows[String(w.id)]) || {};
    const service = figures.service_seconds || {};
    const actions = el("div", { class: "row-actions" }, view.canChange ? openCloseButton(w) : null);
    const profile = view.canChange
      ? el(
          "select",
          {
            "aria-label": t("profile_label", { window: windowName(w) }),
            "data-window": String(w.id),
            onchange: (event) => changeProfile(w, event.target),
          },
          view.profiles.map((p) =>
            el("option", { value: p.name, selected: p.name === w.profile_name, title: p.description }, p.name),
          ),
        )
      : w.profile_name;
    return el(
      "tr",
      { "data-window": String(w.id) },
      el("th", { scope: "row" }, windowName(w)),
      el("td", {}, el("span", { class: "badge", "data-state": w.state }, t(w.state))),
      el("td", {}, w.clerk || "—"),
      el("td", {}, w.current ? w.current.number : "—"),
      el("td", { class: "num", "data-served": String(figures.served_today ?? 0) }, String(figures.served_today ?? "—")),
      el("td", { class: "num" }, duration(service.mean)),
      el("td", { class: "num" }, String(figures.waiting ?? "—")),
      el("td", {}, profile),
      el("td", {}, actions),
    );
  });
  clear(document.getElementById("windows"), rows);
}

/** Draw the table if a change came while it was held back (a menu open, a dialog up). */
export function renderWindowsLater() {
  setTimeout(() => windowsPending && renderWindows(), 0);
}

function openCloseButton(w) {
  const [label, kind, handler] =
    w.state === "closed" ? ["open_window", "secondary", openWindow] : ["close_window", "danger", closeWindow];
  return el(
    "button",
    { type: "button", class: kind, "aria-label": `${t(label)} ${windowName(w)}`, onclick: () => handler(w) },
    t(label),
  );
}

/** Call the manager API and say how it went. */
async function send(path, method, body, what) {
  renderWindowsLater();
  try {
    await api(path, { method, body, token: staff.token });
    message(t("changed", { what }), "ok");
  } catch (error) {
    message(error.message, "error");
    if (error.status === 401) staff.lost(t("token_bad"));
  }
}

async function openWindow(w) {
  if (await confirmDialog(t("open_title", { window: windowName(w) }), t("open_text"))) {
    await send(`/api/v1/windows/${w.id}/open`, "POST", {}, `${t("open_window")} ${windowName(w)}`);
  }
}

async function closeWindow(w) {
  const reason = reasonField();
  const ok = await confirmDialog(t("close_title", { window: windowName(w) }), t("close_text"), {
    extra: reason.node,
  });
  if (ok) {
    await send(
      `/api/v1/windows/${w.id}/close`,
      "POST",
      { reason: reason.input.value.trim() },
      `${t("close_window")} ${windowName(w)}`,
    );
  }
}

async function changeProfile(w, select) {
  const to = select.value;
  const reason = reasonField();
  const ok = await confirmDialog(
    t("profile_title", { window: windowName(w) }),
    t("profile_text", { from: w.profile_name, to }),
    { extra: reason.node },
  );
  if (!ok) {
    select.value = w.profile_name;
    renderWindowsLater();
    return;
  }
  await send(
    `/api/v1/windows/${w.id}/profile`,
    "PUT",
    { profile: to, reason: reason.input.value.trim() },
    `${windowName(w)} → ${to}`,
  );
}
