// The kiosk (自助取号机): choose a matter group and a matter (or a channel: green, large enterprise with
// its credit code, an appointment code), read the materials to bring (一次性告知), take the ticket, and
// see it on screen with a QR for the phone page while the printer prints.
//
// It uses only what a kiosk token may: GET /api/v1/hall, GET /api/v1/matters, POST /api/v1/tickets.
import qrcodegen from "/static/vendor/qrcodegen.js";
import {
  api,
  applyStrings,
  askToken,
  clear,
  defineStrings,
  el,
  forgetToken,
  formatClock,
  languageButton,
  minutesText,
  params,
  say,
  t,
  takeToken,
} from "/static/common.js";

defineStrings({
  zh: {
    title: "自助取号",
    welcome: "欢迎光临，请选择要办理的业务",
    other_ways: "特殊通道",
    green: "绿色通道",
    green_sub: "老年人、残疾人、孕妇等优先",
    enterprise: "大企业专窗",
    enterprise_sub: "凭统一社会信用代码取号",
    appointment: "预约签到",
    appointment_sub: "输入预约码取号",
    choose_matter: "请选择具体事项",
    back: "返回",
    home: "返回首页",
    full: "今日号源已满",
    materials: "请备齐以下材料（一次性告知）",
    no_materials: "本事项无需材料",
    take: "确认取号",
    credit_code: "统一社会信用代码（18位）",
    credit_code_help: "请用下方按键输入",
    appointment_code: "预约码",
    delete: "删除",
    clear: "清空",
    issuing: "正在出票，请稍候…",
    your_number: "您的号码",
    ahead: "前面还有",
    eta: "预计等候",
    printed: "号票已打印，请取走号票",
    scan: "手机扫码，随时查看叫号进度",
    qr_label: "手机查看进度的二维码",
    watch: "请留意叫号屏和语音提示",
    countdown: "{n} 秒后返回首页",
    done: "完成",
    print_failed_title: "出票失败",
    voided: "{number}（已作废）",
    closed: "当前不在办公时间，取号可能不被受理。",
    channel_label: "当前通道：{name}",
    kiosk: "取号机",
  },
  en: {
    title: "Take a number",
    welcome: "Welcome. Please choose what you need",
    other_ways: "Other ways",
    green: "Green channel",
    green_sub: "Elderly, disabled, pregnant",
    enterprise: "Large enterprise",
    enterprise_sub: "With the unified social credit code",
    appointment: "Appointment",
    appointment_sub: "Check in with your appointment code",
    choose_matter: "Please choose the matter",
    back: "Back",
    home: "Start over",
    full: "No more numbers today",
    materials: "Please have these documents ready",
    no_materials: "No documents needed",
    take: "Take a number",
    credit_code: "Unified social credit code (18 characters)",
    credit_code_help: "Use the keys below",
    appointment_code: "Appointment code",
    delete: "Delete",
    clear: "Clear",
    issuing: "Printing your ticket…",
    your_number: "Your number",
    ahead: "People ahead",
    eta: "Expected wait",
    printed: "Please take your printed ticket",
    scan: "Scan to follow the queue on your phone",
    qr_label: "QR code of your ticket's phone page",
    watch: "Please watch the board and listen for your number",
    countdown: "Back to the start in {n} s",
    done: "Done",
    print_failed_title: "The ticket could not be printed",
    voided: "{number} (voided)",
    closed: "The hall is closed now; a ticket may be refused.",
    channel_label: "Channel: {name}",
    kiosk: "kiosk",
  },
});

// Back to the start after this long without a touch (?idle=SECONDS for testing or a slower hall).
const IDLE_SECONDS = Number(params.get("idle")) || 30;
// Characters of a unified social credit code (GB 32100: no I, O, S, V, Z).
const CREDIT_KEYS = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const APPOINTMENT_KEYS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ-";

let token = null;
let hall = null;
let matters = [];
let flow = null; // what the citizen has chosen so far
let redraw = () => {};
let idleTimer = null;
let countdownTimer = null;

const screen = () => document.getElementById("screen");
const problem = (message) => say(document.getElementById("problem"), message, "error");

function matterName(m) {
  return document.documentElement.lang === "en" && m.name_en ? m.name_en : m.name;
}

function channelName(channel) {
  return { green: t("green"), enterprise: t("enterprise"), appointment: t("appointment") }[channel] || "";
}

function tile(name, sub, onclick, { extraClass = "", disabled = false, label = null } = {}) {
  return el(
    "button",
    { type: "button", class: `tile ${extraClass}`, onclick, disabled, "aria-label": label },
    el("span", { class: "name" }, name),
    sub ? el("span", { class: "sub" }, sub) : null,
  );
}

function nav(...buttons) {
  return el("div", { class: "nav" }, buttons);
}

function backButton(onclick, text = t("back")) {
  return el("button", { type: "button", class: "secondary", onclick }, text);
}

// -- screens -------------------------------------------------------------------------------------------
function showHome() {
  flow = { channel: "normal", group: null, matter: null };
  clearTimeout(countdownTimer);
  problem("");
  redraw = showHome;
  const groups = hall.groups
    .map((g) => ({ ...g, matters: matters.filter((m) => m.prefix === g.prefix) }))
    .filter((g) => g.matters.length > 0);
  clear(
    screen(),
    el("h2", {}, t("welcome")),
    el(
      "div",
      { class: "tiles" },
      groups.map((g) =>
        tile(g.name, g.matters.map(matterName).join(" · "), () => showMatters(g), {
          label: `${g.name}：${g.matters.map(matterName).join("、")}`,
        }),
      ),
    ),
    el("p", { class: "lead" }, t("other_ways")),
    el(
      "div",
      { class: "channel-row" },
      tile(t("green"), t("green_sub"), () => chooseChannel("green"), { extraClass: "channel" }),
      tile(t("enterprise"), t("enterprise_sub"), () => chooseChannel("enterprise"), { extraClass: "channel" }),
      tile(t("appointment"), t("appointment_sub"), showAppointment, { extraClass: "channel" }),
    ),
  );
}

function chooseChannel(channel) {
  flow.channel = channel;
  showGroups();
}

function channelBadge() {
  return flow.channel === "normal"
    ? null
    : el("p", { class: "chosen-channel" }, t("channel_label", { name: channelName(flow.channel) }));
}

function showGroups() {
  redraw = showGroups;
  const groups = hall.groups
    .map((g) => ({ ...g, matters: matters.filter((m) => m.prefix === g.prefix) }))
    .filter((g) => g.matters.length > 0);
  clear(
    screen(),
    channelBadge(),
    el("h2", {}, t("welcome")),
    el(
      "div",
      { class: "tiles" },
      groups.map((g) => tile(g.name, g.matters.map(matterName).join(" · "), () => showMatters(g))),
    ),
    nav(backButton(showHome)),
  );
}

function showMatters(group) {
  flow.group = group;
  redraw = () => showMatters(group);
  clear(
    screen(),
    channelBadge(),
    el("h2", {}, `${group.name} · ${t("choose_matter")}`),
    el(
      "div",
      { class: "tiles" },
      group.matters.map((m) => {
        const full = m.daily_cap !== null && m.issued_today >= m.daily_cap;
        const sub = full ? t("full") : document.documentElement.lang === "en" ? m.name : m.name_en;
        return tile(matterName(m), sub, () => showMaterials(m), { disabled: full });
      }),
    ),
    nav(backButton(flow.channel === "normal" ? showHome : showGroups)),
  );
}

function showMaterials(matter) {
  flow.matter = matter;
  redraw = () => showMaterials(matter);
  const needsCode = flow.channel === "enterprise";
  const entry = needsCode ? codeEntry(t("credit_code"), CREDIT_KEYS, 18) : null;
  const take = el("button", { type: "button", class: "primary", disabled: needsCode }, t("take"));
  if (entry) entry.onChange = (value) => (take.disabled = value.length !== 18);
  take.addEventListener("click", () =>
    issue(
      { matter: matter.code, channel: flow.channel, ...(needsCode ? { credit_code: entry.value() } : {}) },
      take,
    ),
  );
  const info = [
    channelBadge(),
    el("h2", {}, matterName(matter)),
    el("p", { class: "lead" }, t("materials")),
    matter.materials.length
      ? el(
          "ol",
          { class: "materials-list" },
          matter.materials.map((item) => el("li", {}, item)),
        )
      : el("p", { class: "lead" }, t("no_materials")),
  ];
  const buttons = nav(backButton(() => showMatters(flow.group)), take);
  if (!entry) {
    clear(screen(), info, buttons);
    return;
  }
  // The materials stay in sight while the code is typed (the citizen checks the folder against them):
  // side by side in landscape, stacked in portrait, never scrolled away (kiosk.css, .code-layout).
  clear(
    screen(),
    el(
      "div",
      { class: "code-layout" },
      el("div", { class: "code-layout-info" }, info),
      entry.node,
      buttons,
    ),
  );
}

function showAppointment() {
  flow.channel = "appointment";
  redraw = showAppointment;
  const entry = codeEntry(t("appointment_code"), APPOINTMENT_KEYS, 32);
  const take = el("button", { type: "button", class: "primary", disabled: true }, t("take"));
  entry.onChange = (value) => (take.disabled = value.length === 0);
  take.addEventListener("click", () =>
    issue({ channel: "appointment", appointment_code: entry.value() }, take),
  );
  clear(
    screen(),
    el(
      "div",
      { class: "code-layout" },
      el("div", { class: "code-layout-info" }, channelBadge(), el("h2", {}, t("appointment_sub"))),
      entry.node,
      nav(backButton(showHome), take),
    ),
  );
}

/** A code field with an on-screen keypad (a kiosk has no keyboard). */
function codeEntry(label, keys, maxLength) {
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
  entry.node = el(
    "div",
    { class: "code-entry" },
    el("label", {}, label, el("br"), input),
    el(
      "div",
      { class: "keypad", role: "group", "aria-label": label },
      [...keys].map((key) => el("button", { type: "button", onclick: () => press(key) }, key)),
      el(
        "button",
        {
          type: "button",
          class: "wide",
          onclick: () => {
            input.value = input.value.slice(0, -1);
            changed();
          },
        },
        t("delete"),
      ),
      el(
        "button",
        {
          type: "button",
          class: "wide",
          onclick: () => {
            input.value = "";
            changed();
          },
        },
        t("clear"),
      ),
    ),
  );
  return entry;
}

async function issue(body, button) {
  problem("");
  button.disabled = true;
  const label = button.textContent;
  button.textContent = t("issuing");
  try {
    const ticket = await api("/api/v1/tickets", { method: "POST", body, token });
    showTicket(ticket);
    refreshMatters();
  } catch (error) {
    button.disabled = false;
    button.textContent = label;
    if (error.code === "print_failed") showPrintFailed(error);
    else if (error.status === 401) await lostToken(t("token_bad"));
    else if (error.code === "role_forbidden") await lostToken(t("token_role", { role: t("role_kiosk") }));
    else problem(error.message);
  }
}

function phoneUrl(ticket) {
  // The printed ticket's QR opens {public_url}/t/{track_token}; a loopback public_url (the default) is no
  // use to a phone, so this page's own address stands in for it.
  let base = hall.public_url || location.origin;
  try {
    if (["127.0.0.1", "localhost", "[::1]"].includes(new URL(base).hostname)) base = location.origin;
  } catch {
    base = location.origin;
  }
  return `${base.replace(/\/$/, "")}/t/${encodeURIComponent(ticket.track_token)}`;
}

function qrSvg(text) {
  const qr = qrcodegen.QrCode.encodeText(text, qrcodegen.QrCode.Ecc.MEDIUM);
  const quiet = 4;
  const size = qr.size + quiet * 2;
  let path = "";
  for (let y = 0; y < qr.size; y++) {
    for (let x = 0; x < qr.size; x++) {
      if (qr.getModule(x, y)) path += `M${x + quiet},${y + quiet}h1v1h-1z`;
    }
  }
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${size} ${size}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", t("qr_label"));
  svg.setAttribute("shape-rendering", "crispEdges");
  svg.dataset.url = text;
  svg.dataset.size = String(qr.size);
  svg.innerHTML = `<rect width="${size}" height="${size}" fill="#fff"/><path d="${path}" fill="#000"/>`;
  return svg;
}

function showTicket(ticket) {
  redraw = () => showTicket(ticket);
  const url = phoneUrl(ticket);
  const countdown = el("p", { class: "countdown", role: "timer" });
  const names = ticket.materials ? ticket.materials.map((m) => m.name) : ticket.matter_names;
  clear(
    screen(),
    el(
      "section",
      { class: "ticket", "aria-labelledby": "ticket-number", dataset: { ticketId: String(ticket.id) } },
      el(
        "div",
        {},
        el("p", { class: "lead" }, t("your_number")),
        el("div", { class: "number", id: "ticket-number" }, ticket.number),
        el("div", { class: "matter" }, names.join("、")),
        el(
          "dl",
          {},
          el("dt", {}, t("ahead")),
          el("dd", { id: "ticket-ahead" }, t("people", { n: ticket.ahead })),
          el("dt", {}, t("eta")),
          el("dd", { id: "ticket-eta" }, minutesText(ticket.eta_minutes)),
        ),
      ),
      el("figure", { class: "qr" }, qrSvg(url), el("figcaption", {}, t("scan"))),
    ),
    el("p", { class: "printed" }, t("printed")),
    el("p", { class: "lead" }, t("watch")),
    countdown,
    nav(el("button", { type: "button", class: "primary", onclick: showHome }, t("done"))),
  );
  startCountdown(countdown);
}

function showPrintFailed(error) {
  redraw = () => showPrintFailed(error);
  const voided = error.body && error.body.ticket;
  const countdown = el("p", { class: "countdown", role: "timer" });
  clear(
    screen(),
    el(
      "div",
      { class: "failed", role: "alert" },
      el("p", {}, t("print_failed_title")),
      voided ? el("p", { class: "voided" }, t("voided", { number: voided.number })) : null,
      el("p", {}, error.message),
    ),
    countdown,
    nav(el("button", { type: "button", class: "primary", onclick: showHome }, t("home"))),
  );
  startCountdown(countdown);
}

function startCountdown(node) {
  let left = IDLE_SECONDS;
  clearTimeout(countdownTimer);
  const step = () => {
    node.textContent = t("countdown", { n: left });
    if (left <= 0) {
      showHome();
      return;
    }
    left -= 1;
    countdownTimer = setTimeout(step, 1000);
  };
  step();
}

// -- idle, data, start ---------------------------------------------------------------------------------
function touched() {
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    if (redraw !== showHome) showHome();
  }, IDLE_SECONDS * 1000);
}

async function refreshMatters() {
  try {
    matters = (await api("/api/v1/matters", { token })).matters;
  } catch {
    // keep the list we have; the next issue says what is wrong
  }
}

async function refreshHall() {
  try {
    hall = await api("/api/v1/hall", { token });
    document.getElementById("hall-name").textContent = hall.name;
    document.title = `${hall.name} · ${t("title")}`;
    say(document.getElementById("closed"), hall.open_now ? "" : t("closed"), "error");
  } catch (error) {
    if (error.status === 401) await lostToken(t("token_bad"));
  }
}

async function lostToken(message) {
  forgetToken("kiosk");
  token = await askToken("kiosk", t("role_kiosk"), message);
  await refreshHall();
  await refreshMatters();
  showHome();
}

function tickClock() {
  document.getElementById("clock").textContent = formatClock(new Date(), hall ? hall.timezone : undefined);
}

async function start() {
  applyStrings();
  languageButton(document.getElementById("lang"), () => {
    redraw();
    tickClock();
  });
  for (const kind of ["pointerdown", "keydown"]) document.addEventListener(kind, touched, { capture: true });
  token = takeToken("kiosk");
  if (!token) token = await askToken("kiosk", t("role_kiosk"));
  await refreshHall();
  await refreshMatters();
  showHome();
  tickClock();
  setInterval(tickClock, 10_000);
  setInterval(refreshHall, 60_000);
}

start();
