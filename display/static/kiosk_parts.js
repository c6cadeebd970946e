// The kiosk's building blocks: big tiles, the row of navigation buttons, the chosen-channel badge, and the
// code field with its on-screen keypad (a kiosk has no keyboard).
import { el, t } from "/static/common.js";
import { kiosk } from "/static/kiosk_state.js";

export function matterName(m) {
  return document.documentElement.lang === "en" && m.name_en ? m.name_en : m.name;
}

function channelName(channel) {
  return { green: t("green"), enterprise: t("enterprise"), appointment: t("appointment") }[channel] || "";
}

export function tile(name, sub, onclick, { extraClass = "", disabled = false, label = null } = {}) {
  return el(
    "button",
    { type: "button", class: `tile ${extraClass}`, onclick, disabled, "aria-label": label },
    el("span", { class: "name" }, name),
    sub ? el("span", { class: "sub" }, sub) : null,
  );
}

export function nav(...buttons) {
  return el("div", { class: "nav" }, buttons);
}

export function backButton(onclick, text = t("back")) {
  return el("button", { type: "button", class: "secondary", onclick }, text);
}

/** The channel chosen on the start screen (绿色通道 and the like), shown on the screens after it. */
export function channelBadge() {
  return kiosk.flow.channel === "normal"
    ? null
    : el("p", { class: "chosen-channel" }, t("channel_label", { name: channelName(kiosk.flow.channel) }));
}

/** A code field with an on-screen keypad (a kiosk has no keyboard). */
export function codeEntry(label, keys, maxLength) {
  const input = el("input", {
    type: "text",
    inputmode: "none",
    autocomplete: "off",
    maxlength: String(maxLength),
    "aria-label": label,
    spellcheck: "false",
  });
  const entry = { onChange: () => {}, value: () => input.value.trim().toUpperCase() };
  const changed = () => entry.onChange(entry.value());
  input.addEventListener("input", () => {
    input.value = input.value.toUpperCase();
    changed();
  });
  const press = (key) => {
    if (input.value.length < maxLength) input.value += key;
    changed();
  };
  const edit = (text, change) => {
    const onclick = () => {
      input.value = change(input.value);
      changed();
    };
    return el("button", { type: "button", class: "wide", onclick }, text);
  };
  entry.node = el(
    "div",
    { class: "code-entry" },
    el("label", {}, label, el("br"), input),
    el(
      "div",
      { class: "keypad", role: "group", "aria-label": label },
      [...keys].map((key) => el("button", { type: "button", onclick: () => press(key) }, key)),
      edit(t("delete"), (value) => value.slice(0, -1)),
      edit(t("clear"), () => ""),
    ),
  );
  return entry;
}

/**
 * A code's screen: ``info`` beside the code entry in landscape, above it in portrait, never scrolled away
 * (kiosk.css, .code-layout) so the citizen checks the folder against the materials while typing.
 */
export function codeLayout(info, entry, buttons) {
  return el("div", { class: "code-layout" }, el("div", { class: "code-layout-info" }, info), entry.node, buttons);
}
