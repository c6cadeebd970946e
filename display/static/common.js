// What every hallctl page shares: the token, the language, calls to the JSON API, the live stream, and a
// few DOM helpers. Plain ES module, no build step, nothing loaded from outside the daemon.

export const params = new URLSearchParams(location.search);

// -- language ------------------------------------------------------------------------------------------
const STRINGS = { zh: {}, en: {} };

const COMMON = {
  zh: {
    lang_switch: "English",
    lang_switch_label: "Switch to English",
    token_title: "请输入令牌",
    token_help: "此页面需要{role}令牌。请向系统管理员索取（hallctl token create）。",
    token_field: "令牌",
    token_submit: "确定",
    token_bad: "令牌无效或已吊销，请重新输入。",
    token_role: "该令牌不能打开此页面（需要{role}令牌）。",
    network_error: "无法连接服务器，请稍后重试。",
    live_ok: "实时",
    live_lost: "连接中断，正在重连…",
    minutes: "{n} 分钟",
    people: "{n} 人",
    cancel: "取消",
    confirm: "确定",
    close: "关闭",
    role_kiosk: "取号机",
    role_clerk: "柜员",
    role_manager: "大厅主管",
    role_display: "显示屏",
    role_staff: "主管或稽核",
  },
  en: {
    lang_switch: "中文",
    lang_switch_label: "切换到中文",
    token_title: "Enter a token",
    token_help: "This page needs a {role} token. Ask the administrator (hallctl token create).",
    token_field: "Token",
    token_submit: "OK",
    token_bad: "The token is unknown or revoked. Please enter it again.",
    token_role: "This token cannot open this page (it needs a {role} token).",
    network_error: "Cannot reach the server. Please try again shortly.",
    live_ok: "Live",
    live_lost: "Connection lost, reconnecting…",
    minutes: "{n} min",
    people: "{n}",
    cancel: "Cancel",
    confirm: "OK",
    close: "Close",
    role_kiosk: "kiosk",
    role_clerk: "clerk",
    role_manager: "manager",
    role_display: "display",
    role_staff: "manager or auditor",
  },
};

export function defineStrings(dict) {
  for (const lang of Object.keys(STRINGS)) Object.assign(STRINGS[lang], COMMON[lang], dict[lang] || {});
}
defineStrings({});

let lang = (() => {
  const asked = params.get("lang");
  if (asked) {
    const chosen = asked.toLowerCase().startsWith("en") ? "en" : "zh";
    localStorage.setItem("hallctl.lang", chosen);
    return chosen;
  }
  return localStorage.getItem("hallctl.lang") === "en" ? "en" : "zh";
})();

export function currentLang() {
  return lang;
}

export function t(key, vars = {}) {
  let text = STRINGS[lang][key] ?? STRINGS.zh[key] ?? key;
  for (const [name, value] of Object.entries(vars)) text = text.replaceAll(`{${name}}`, String(value));
  return text;
}

/** Fill every [data-i18n] element's text and [data-i18n-label] element's aria-label. */
export function applyStrings(root = document) {
  document.documentElement.lang = lang === "en" ? "en" : "zh-CN";
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-label]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nLabel));
  }
  for (const node of root.querySelectorAll("[data-i18n-title]")) node.title = t(node.dataset.i18nTitle);
}

/** A button that switches zh <-> en and calls ``rerender`` (the page redraws its dynamic parts). */
export function languageButton(button, rerender) {
  const label = () => {
    button.textContent = t("lang_switch");
    button.setAttribute("aria-label", t("lang_switch_label"));
  };
  label();
  button.addEventListener("click", () => {
    lang = lang === "en" ? "zh" : "en";
    localStorage.setItem("hallctl.lang", lang);
    applyStrings();
    label();
    rerender();
  });
}

// -- the token -----------------------------------------------------------------------------------------
// ``?token=`` sets it (how kiosks and boards are set up); it is then kept in the browser's storage and
// taken out of the address bar, so it does not sit on screen or in the history.
export function takeToken(page, { session = false } = {}) {
  const store = session ? sessionStorage : localStorage;
  const key = `hallctl.token.${page}`;
  const given = params.get("token");
  if (given) {
    store.setItem(key, given);
    params.delete("token");
    const rest = params.toString();
    history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : "") + location.hash);
    return given;
  }
  return store.getItem(key);
}

export function forgetToken(page) {
  localStorage.removeItem(`hallctl.token.${page}`);
  sessionStorage.removeItem(`hallctl.token.${page}`);
}

/** Ask for a token in a form over the page; resolves with what was entered (also stored). */
export function askToken(page, roleName, problem = "", { session = false } = {}) {
  return new Promise((resolve) => {
    const form = el(
      "form",
      { class: "token-form", "aria-labelledby": "token-title" },
      el("h1", { id: "token-title" }, t("token_title")),
      el("p", {}, t("token_help", { role: roleName })),
      problem ? el("p", { class: "error", role: "alert" }, problem) : null,
      el(
        "label",
        {},
        t("token_field"),
        el("input", {
          name: "token",
          type: "password",
          autocomplete: "off",
          required: "",
          "aria-label": t("token_field"),
        }),
      ),
      el("button", { type: "submit", class: "primary" }, t("token_submit")),
    );
    const overlay = el("div", { class: "overlay" }, form);
    document.body.append(overlay);
    form.querySelector("input").focus();
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const token = form.querySelector("input").value.trim();
      if (!token) return;
      (session ? sessionStorage : localStorage).setItem(`hallctl.token.${page}`, token);
      overlay.remove();
      resolve(token);
    });
  });
}

// -- the JSON API --------------------------------------------------------------------------------------
export class ApiError extends Error {
  constructor(status, code, message, body = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/**
 * Whether a token may open a page meant for ``roles``: "ok", "bad" (unknown or revoked), "role" (another
 * role's token) or "offline" (the daemon did not answer; try again later).
 */
export async function checkToken(token, roles) {
  try {
    const me = await api("/api/v1/me", { token });
    return roles.includes(me.role) ? "ok" : "role";
  } catch (error) {
    if (error.status === 401) return "bad";
    if (error.status === 403) return "role";
    return "offline";
  }
}

/** Call the API; answers the decoded JSON, or throws an ApiError whose message is for people. */
export async function api(path, { method = "GET", body, token } = {}) {
  const headers = { "Accept-Language": lang === "en" ? "en" : "zh-CN" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "network", t("network_error"));
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = data && data.error;
    const message = error && typeof error.message === "string" ? error.message : t("network_error");
    throw new ApiError(response.status, (error && error.code) || "http", message, data);
  }
  return data;
}

// -- the live stream -----------------------------------------------------------------------------------
// The daemon sends a ``ping`` every 15 s; hearing nothing for this long, the stream is taken for dead
// (a NAT box that dropped it says nothing) and opened anew, which brings a fresh snapshot.
const SILENCE_MS = 40_000;

/**
 * Open the live stream and keep it open. ``handlers`` maps event names (snapshot, call, window, …) to
 * functions of the decoded data. ``onState`` hears "live", "lost", or "refused" (the stream was turned
 * away: a bad token, a ticket gone; the caller decides what to do, the stream is not retried).
 */
export function openLive(url, handlers, onState = () => {}) {
  let source = null;
  let lastHeard = Date.now();
  let stopped = false;
  const heard = () => {
    lastHeard = Date.now();
  };
  const open = () => {
    if (source) source.close();
    source = new EventSource(url);
    lastHeard = Date.now();
    source.addEventListener("open", heard);
    for (const [name, handle] of Object.entries(handlers)) {
      source.addEventListener(name, (event) => {
        heard();
        if (name === "snapshot") onState("live");
        handle(JSON.parse(event.data), event);
      });
    }
    source.addEventListener("ping", (event) => {
      heard();
      if (handlers.ping === undefined) clockFrom(JSON.parse(event.data).now);
    });
    source.addEventListener("revoked", () => {
      source.close();
      onState("refused");
    });
    source.addEventListener("error", () => {
      if (stopped) return;
      if (source.readyState === EventSource.CLOSED) {
        // A non-200 answer (the browser does not retry those): ask the page what to do.
        onState("refused");
      } else {
        onState("lost");
      }
    });
  };
  let watchdog = null;
  const start = () => {
    stopped = false;
    open();
    clearInterval(watchdog);
    watchdog = setInterval(() => {
      if (!stopped && Date.now() - lastHeard > SILENCE_MS) {
        onState("lost");
        open();
      }
    }, 5000);
  };
  start();
  return {
    reopen: start,
    close() {
      stopped = true;
      clearInterval(watchdog);
      if (source) source.close();
    },
  };
}

/** A small "● live / ● reconnecting" marker. */
export function liveMarker(node, state) {
  node.dataset.state = state;
  node.textContent = state === "live" ? `● ${t("live_ok")}` : `● ${t("live_lost")}`;
}

// -- the daemon's clock --------------------------------------------------------------------------------
let clockOffset = 0; // daemon time minus this browser's time, in ms

export function clockFrom(daemonSeconds) {
  if (typeof daemonSeconds === "number") clockOffset = daemonSeconds * 1000 - Date.now();
}

export function hallNow() {
  return new Date(Date.now() + clockOffset);
}

export function formatClock(date, timeZone, { seconds = false } = {}) {
  const options = { hour: "2-digit", minute: "2-digit", hour12: false, timeZone };
  if (seconds) options.second = "2-digit";
  return format(date, options);
}

export function formatDate(date, timeZone) {
  return format(date, { year: "numeric", month: "long", day: "numeric", weekday: "short", timeZone });
}

function format(date, options) {
  try {
    return new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "zh-CN", options).format(date);
  } catch {
    delete options.timeZone;
    return new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "zh-CN", options).format(date);
  }
}

/** "12:03" from an ISO time the API gives, in the hall's zone. */
export function timeOf(iso, timeZone) {
  if (!iso) return "";
  return formatClock(new Date(iso), timeZone);
}

export function minutesText(n) {
  return t("minutes", { n: n ?? "—" });
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.round(seconds);
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, "0")}`;
}

// -- DOM -----------------------------------------------------------------------------------------------
/** el("button", {class: "big", onclick: fn}, "text", child…) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

/** Ask yes or no in a modal dialog; resolves true when confirmed. ``extra`` is shown between. */
export function confirmDialog(title, message, { extra = null, confirmText = null } = {}) {
  return new Promise((resolve) => {
    const dialog = el(
      "dialog",
      { class: "confirm", "aria-labelledby": "confirm-title" },
      el("h2", { id: "confirm-title" }, title),
      el("p", {}, message),
      extra,
      el(
        "div",
        { class: "dialog-buttons" },
        el("button", { type: "button", class: "secondary", value: "no" }, t("cancel")),
        el("button", { type: "button", class: "primary", value: "yes" }, confirmText || t("confirm")),
      ),
    );
    for (const button of dialog.querySelectorAll(".dialog-buttons button")) {
      button.addEventListener("click", () => dialog.close(button.value));
    }
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "yes");
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Show a message in a live region for a while (errors stay until replaced). */
export function say(region, message, kind = "info", ms = 6000) {
  region.textContent = message;
  region.dataset.kind = kind;
  region.hidden = !message;
  clearTimeout(region._timer);
  if (message && kind !== "error") region._timer = setTimeout(() => (region.hidden = true), ms);
}
