// What the clerk terminal's buttons and F-keys do: confirm where an action cannot be undone (过号, 挂起,
// 转办, pause, leaving the window), then call the window API and say how it went.
import { api, confirmDialog, t } from "/static/common.js";
import { transferPicker } from "/static/clerk_transfer.js";
import { render } from "/static/clerk_desk.js";
import { KEYS, allowed, message, staff, ui, view, windowName } from "/static/clerk_state.js";
import { reasonField } from "/static/staff_page.js";

/** Do ``action`` at the window ``windowId`` (the desk's own by default), with ``body`` when given. */
export async function act(action, windowId = null, body = null) {
  if (ui.busy) return;
  const desk = view.desk;
  const id = windowId ?? (desk && desk.window ? desk.window.id : null);
  if (id === null) return;
  const number = desk && desk.ticket ? desk.ticket.number : "";
  let path = action;
  let payload = body ?? {};
  if (action === "finish" && !body) payload = { outcome: "completed" };
  if (action === "pause" && desk.window.state === "paused") path = "unpause";
  if (action === "no-show") {
    if (!(await confirmDialog(t("no_show_confirm", { number }), t("no_show_text")))) return;
  } else if (action === "transfer") {
    payload = await transferDialog(number);
    if (!payload) return;
  } else if (action === "suspend") {
    const reason = await reasonDialog(t("suspend_title", { number }), t("suspend_text"));
    if (reason === null) return;
    payload = { reason };
  } else if (path === "pause") {
    const reason = await reasonDialog(t("pause_title"), t("pause_text"));
    if (reason === null) return;
    payload = { reason };
  } else if (action === "logout") {
    const ok = await confirmDialog(t("logout_title", { window: windowName(desk.window) }), t("logout_text"));
    if (!ok) return;
  }
  ui.busy = true;
  render();
  try {
    const answer = await api(`/api/v1/windows/${id}/${path}`, { method: "POST", body: payload, token: staff.token });
    if (action === "call-next") {
      message(answer.ticket ? t("called", { number: answer.ticket.number }) : t("none_waiting"), "ok");
    } else if (action === "finish") {
      message(t("done", { number }), "ok");
    } else {
      message("");
    }
  } catch (error) {
    if (error.status === 401) {
      await staff.lost(t("token_bad"));
    } else {
      message(error.message, "error");
    }
  } finally {
    ui.busy = false;
    render();
  }
}

/** Confirm with an optional reason: the reason typed, or null when cancelled. */
function reasonDialog(title, text) {
  const reason = reasonField();
  setTimeout(() => reason.input.focus(), 0);
  return confirmDialog(title, text, { extra: reason.node }).then((ok) => (ok ? reason.input.value.trim() : null));
}

/** The transfer (转办) dialog: the payload chosen, or null when cancelled. */
function transferDialog(number) {
  const confirmWhen = { button: null };
  const picker = transferPicker({
    matters: view.matters,
    windows: view.windows,
    ticket: view.desk.ticket,
    ownWindow: view.desk.window.id,
    onValidity: (ok) => {
      if (confirmWhen.button) confirmWhen.button.disabled = !ok;
    },
  });
  ui.picker = picker;
  const answer = confirmDialog(t("transfer_title", { number }), t("transfer_text"), { extra: picker.node });
  const dialog = picker.node.closest("dialog");
  dialog.classList.add("transfer");
  confirmWhen.button = dialog.querySelector(".dialog-buttons button.primary");
  picker.update(view.windows); // sets the confirm button by the choice as it stands
  picker.focus();
  return answer.then((ok) => {
    ui.picker = null;
    return ok ? picker.payload() : null;
  });
}

/** The F-keys: F1–F10 act when the desk allows it; F5 and a held key do nothing. */
export function onKey(event) {
  const action = KEYS[event.key];
  if (event.key === "F5") {
    event.preventDefault(); // a reload would only lose the screen for a moment; never do it by accident
    return;
  }
  if (!action || document.querySelector("dialog[open]") || document.querySelector(".overlay")) return;
  event.preventDefault();
  if (event.repeat) return; // a key held down must not call three citizens
  if (allowed(action)) act(action);
}
