// The clerk's terminal (柜员工作台): log in to a window, then call, recall, start, finish, mark a
// no-show, transfer, suspend and resume, pause; with F1–F10. The desk (the ticket at the window, its
// materials, who waits) comes from the live stream; the buttons call the window API.
import {
  api,
  applyStrings,
  askToken,
  checkToken,
  clear,
  clockFrom,
  confirmDialog,
  defineStrings,
  el,
  forgetToken,
  hallNow,
  languageButton,
  liveMarker,
  openLive,
  say,
  t,
  takeToken,
  timeOf,
} from "/static/common.js";
import { transferPicker } from "/static/clerk_transfer.js";

defineStrings({
  zh: {
    title: "柜员工作台",
    waiting_here: "本窗口待叫",
    logout: "退出窗口",
    sign_out: "注销令牌",
    pick_window: "请选择要登录的窗口",
    login: "登录此窗口",
    taken_by: "柜员 {clerk} 已登录",
    free: "空闲，可登录",
    current: "当前号票",
    nobody: "当前没有号票。按 F1 叫号。",
    call: "叫号",
    recall: "重呼",
    start: "开始办理",
    finish: "办结",
    rejected: "不予受理",
    incomplete: "材料不全",
    no_show: "过号",
    transfer: "转办",
    suspend: "挂起",
    resume: "回呼",
    pause: "暂停服务",
    unpause: "恢复服务",
    rate: "请求评价",
    matters: "事项",
    channel: "通道",
    issued: "取号时间",
    waited: "已等候",
    recalls: "重呼次数",
    transfers: "转办次数",
    materials: "应交材料",
    no_materials: "无需材料",
    suspended: "挂起的号票",
    none_waiting: "当前没有可叫的号。",
    called: "已叫号 {number}",
    done: "已办理完成 {number}",
    no_show_confirm: "确认 {number} 过号？",
    no_show_text: "过号后该号离开队列；市民回来后可由工作人员重新排队（按规则限一次）。",
    transfer_title: "转办 {number}",
    transfer_text: "转办后号票保留原排队顺序。请选择新事项和/或目标窗口。",
    transfer_matters: "转办事项（可多选，不选则保留原事项）",
    transfer_window: "目标窗口",
    any_window: "不指定窗口",
    reason: "原因（可不填）",
    suspend_title: "挂起 {number}",
    suspend_text: "号票暂留本窗口，稍后可回呼。",
    pause_title: "暂停本窗口服务？",
    pause_text: "暂停期间本窗口不会被分配号票。",
    logout_title: "退出 {window}？",
    logout_text: "退出后其他柜员可登录此窗口。",
    rating_waiting: "等待市民评价（{ticket}）…",
    rating_done: "市民评价：{level}（{ticket}）",
    rating_in: "收到评价：{level}（{ticket}）",
    rating_rated: "市民已评价（{ticket}）",
    state_waiting: "等候中",
    state_called: "已叫号",
    state_serving: "办理中",
    state_transferred: "已转办",
    window_open: "开放",
    window_paused: "暂停服务",
    window_closed: "已关闭",
    minutes_ago: "{n} 分钟",
    channel_normal: "普通",
    channel_green: "绿色通道",
    channel_enterprise: "大企业",
    channel_appointment: "预约",
    needs_clerk: "此页面需要柜员令牌。",
  },
  en: {
    title: "Clerk desk",
    waiting_here: "Waiting for this window",
    logout: "Leave window",
    sign_out: "Sign out",
    pick_window: "Choose the window to work at",
    login: "Work here",
    taken_by: "Clerk {clerk} is logged in",
    free: "Free",
    current: "Current ticket",
    nobody: "No ticket at the window. Press F1 to call.",
    call: "Call next",
    recall: "Call again",
    start: "Start",
    finish: "Finish",
    rejected: "Refused",
    incomplete: "Documents missing",
    no_show: "No-show",
    transfer: "Transfer",
    suspend: "Suspend",
    resume: "Resume",
    pause: "Pause",
    unpause: "Resume service",
    rate: "Ask for rating",
    matters: "Matters",
    channel: "Channel",
    issued: "Taken at",
    waited: "Waited",
    recalls: "Called again",
    transfers: "Transfers",
    materials: "Documents",
    no_materials: "None needed",
    suspended: "Suspended tickets",
    none_waiting: "Nobody is waiting for this window.",
    called: "Called {number}",
    done: "Finished {number}",
    no_show_confirm: "Mark {number} as a no-show?",
    no_show_text: "The ticket leaves the queue; staff can queue it again once if the citizen returns.",
    transfer_title: "Transfer {number}",
    transfer_text: "The ticket keeps its place. Choose new matters and/or a window.",
    transfer_matters: "New matters (none: keep them)",
    transfer_window: "Window",
    any_window: "Any window",
    reason: "Reason (optional)",
    suspend_title: "Suspend {number}",
    suspend_text: "The ticket stays with this window; resume it later.",
    pause_title: "Pause this window?",
    pause_text: "No tickets are called to a paused window.",
    logout_title: "Leave {window}?",
    logout_text: "Another clerk can then log in here.",
    rating_waiting: "Waiting for the citizen's rating ({ticket})…",
    rating_done: "Rating: {level} ({ticket})",
    rating_in: "Rating received: {level} ({ticket})",
    rating_rated: "The citizen has rated ({ticket})",
    state_waiting: "waiting",
    state_called: "called",
    state_serving: "being served",
    state_transferred: "transferred",
    window_open: "open",
    window_paused: "paused",
    window_closed: "closed",
    minutes_ago: "{n} min",
    channel_normal: "normal",
    channel_green: "green",
    channel_enterprise: "enterprise",
    channel_appointment: "appointment",
    needs_clerk: "This page needs a clerk token.",
  },
});

const view = {
  clerk: null,
  desk: null,
  windows: [],
  matters: [],
  timezone: undefined,
};
let token = null;
let busy = false;
let openPicker = null; // the transfer dialog's picker while it is open: windows changing re-mark it

const message = (text, kind = "ok") => say(document.getElementById("message"), text, kind);

// The keys: F1–F10 (F5 would reload the page; here it does nothing, so a stray press loses nothing).
const KEYS = {
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
const KEY_OF = Object.fromEntries(Object.entries(KEYS).map(([key, action]) => [action, key]));

function windowName(w) {
  return w ? w.name || `${w.id}号窗口` : "";
}

// -- what the buttons may do now -----------------------------------------------------------------------
function allowed(action) {
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

// -- rendering -----------------------------------------------------------------------------------------
function render() {
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

function actionButton(action, text, extraClass = "") {
  const key = KEY_OF[action];
  return el(
    "button",
    {
      type: "button",
      class: extraClass,
      disabled: busy || !allowed(action),
      "aria-keyshortcuts": key,
      "data-action": action,
      onclick: () => act(action),
    },
    el("span", {}, text),
    key ? el("kbd", {}, key) : null,
  );
}

function renderActions() {
  const desk = view.desk;
  const paused = desk.window.state === "paused";
  const finish = (outcome, text) =>
    el(
      "button",
      {
        type: "button",
        disabled: busy || !allowed("finish"),
        "data-action": `finish-${outcome}`,
        "aria-keyshortcuts": outcome === "completed" ? "F4" : null,
        onclick: () => act("finish", null, { outcome }),
      },
      el("span", {}, text),
      outcome === "completed" ? el("kbd", {}, "F4") : null,
    );
  const panel = el(
    "section",
    { class: "panel", "aria-label": t("title") },
    el(
      "div",
      { class: "actions" },
      actionButton("call-next", t("call"), "call"),
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
                  disabled: busy || !allowed("resume"),
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

// -- actions -------------------------------------------------------------------------------------------
async function act(action, windowId = null, body = null) {
  if (busy) return;
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
  busy = true;
  render();
  try {
    const answer = await api(`/api/v1/windows/${id}/${path}`, { method: "POST", body: payload, token });
    if (action === "call-next") {
      message(answer.ticket ? t("called", { number: answer.ticket.number }) : t("none_waiting"), "ok");
    } else if (action === "finish") {
      message(t("done", { number }), "ok");
    } else {
      message("");
    }
  } catch (error) {
    if (error.status === 401) {
      await lostToken(t("token_bad"));
    } else {
      message(error.message, "error");
    }
  } finally {
    busy = false;
    render();
  }
}

function reasonDialog(title, text) {
  const input = el("input", { type: "text", maxlength: "500", "aria-label": t("reason") });
  const extra = el("label", {}, t("reason"), input);
  setTimeout(() => input.focus(), 0);
  return confirmDialog(title, text, { extra }).then((ok) => (ok ? input.value.trim() : null));
}

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
  openPicker = picker;
  const answer = confirmDialog(t("transfer_title", { number }), t("transfer_text"), { extra: picker.node });
  const dialog = picker.node.closest("dialog");
  dialog.classList.add("transfer");
  confirmWhen.button = dialog.querySelector(".dialog-buttons button.primary");
  picker.update(view.windows); // sets the confirm button by the choice as it stands
  picker.focus();
  return answer.then((ok) => {
    openPicker = null;
    return ok ? picker.payload() : null;
  });
}

function onKey(event) {
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

// -- the stream and the start --------------------------------------------------------------------------
async function lostToken(problem) {
  forgetToken("clerk");
  token = await askToken("clerk", t("role_clerk"), problem, { session: true });
  location.reload();
}

async function start() {
  applyStrings();
  languageButton(document.getElementById("lang"), render);
  document.addEventListener("keydown", onKey);
  document.getElementById("logout").addEventListener("click", () => act("logout"));
  document.getElementById("forget").addEventListener("click", () => {
    forgetToken("clerk");
    location.reload();
  });
  token = takeToken("clerk", { session: true });
  if (!token) token = await askToken("clerk", t("role_clerk"), "", { session: true });
  const verdict = await checkToken(token, ["clerk"]);
  if (verdict === "bad") return lostToken(t("token_bad"));
  if (verdict === "role") return lostToken(t("needs_clerk"));
  try {
    view.matters = (await api("/api/v1/matters", { token })).matters;
  } catch (error) {
    message(error.message, "error");
  }
  const marker = document.getElementById("live");
  let live = null;
  live = openLive(
    `/api/v1/live?view=clerk&token=${encodeURIComponent(token)}`,
    {
      snapshot(data) {
        clockFrom(data.now);
        view.timezone = data.hall.timezone;
        view.clerk = data.clerk;
        view.desk = data.desk;
        view.windows = data.windows;
        if (openPicker) openPicker.update(view.windows);
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
        if (openPicker) openPicker.update(view.windows);
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
    },
    async (state) => {
      liveMarker(marker, state);
      if (state !== "refused") return;
      live.close();
      const again = await checkToken(token, ["clerk"]);
      if (again === "bad" || again === "role") return lostToken(t("token_bad"));
      setTimeout(() => live.reopen(), 3000);
    },
  );
}

start();
