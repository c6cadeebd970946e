// The citizen's phone page, opened from the QR on the ticket: their number, its state, how many are
// ahead and the expected wait, the materials to bring, and "请到3号窗口" the moment it is called. It knows
// the ticket only by its unguessable track token and is told nothing about anyone else.
import {
  api,
  applyStrings,
  clear,
  clockFrom,
  defineStrings,
  el,
  languageButton,
  liveMarker,
  minutesText,
  openLive,
  t,
  timeOf,
} from "/static/common.js";

// The expected wait, with the forecaster's p10–p90 range when it made one and it says something.
function etaText(ticket) {
  const eta = minutesText(ticket.eta_minutes);
  const range = ticket.eta_range_minutes;
  if (!range || range[0] === range[1]) return eta;
  return t("eta_range", { eta, low: range[0], high: range[1] });
}

defineStrings({
  zh: {
    title: "我的排队号",
    your_number: "您的号码",
    ahead: "前面还有",
    eta: "预计等候",
    eta_range: "{eta}（多在 {low}–{high} 分钟）",
    materials: "请备齐以下材料（一次性告知）",
    no_materials: "无需材料",
    privacy: "本页只显示您自己的号票。",
    issued: "取号时间 {time}",
    go_to: "请到{window}号窗口",
    go_where: "{number} 号，请到 {name} 办理",
    not_found: "未找到该号票，可能已过期。请以纸质号票为准。",
    state_waiting: "等候中",
    state_transferred: "已转办，继续等候",
    state_called: "正在叫您的号",
    state_serving: "正在办理",
    state_done: "已办结，感谢您的耐心等候",
    state_no_show: "已过号，请联系大厅工作人员",
    state_suspended: "暂停办理，请留意窗口工作人员",
    state_voided: "此号已作废",
  },
  en: {
    title: "My queue number",
    your_number: "Your number",
    ahead: "People ahead",
    eta: "Expected wait",
    eta_range: "{eta} (mostly {low}–{high} min)",
    materials: "Please bring these documents",
    no_materials: "No documents needed",
    privacy: "This page shows your own ticket only.",
    issued: "Taken at {time}",
    go_to: "Please go to window {window}",
    go_where: "Number {number}: please go to {name}",
    not_found: "No such ticket; it may have expired. Your paper ticket still counts.",
    state_waiting: "Waiting",
    state_transferred: "Transferred, still waiting",
    state_called: "You are being called",
    state_serving: "Being served",
    state_done: "Done. Thank you for waiting",
    state_no_show: "Missed. Please ask the hall staff",
    state_suspended: "On hold. Please watch for the clerk",
    state_voided: "This ticket was voided",
  },
});

const trackToken = decodeURIComponent(location.pathname.split("/t/")[1] || "");
let ticket = null;
let timezone;
let lastState = null;

const QUEUED = new Set(["waiting", "transferred"]);

function render() {
  if (!ticket) return;
  document.title = `${ticket.number} · ${t("title")}`;
  document.getElementById("hall-name").textContent = ticket.hall;
  document.getElementById("number").textContent = ticket.number;
  const state = document.getElementById("state");
  state.textContent = t(`state_${ticket.state}`);
  state.dataset.state = ticket.state;
  document.getElementById("matters").textContent = ticket.matter_names.join("、");
  const queued = QUEUED.has(ticket.state);
  document.getElementById("figures").hidden = !queued;
  document.getElementById("ahead").textContent = t("people", { n: ticket.ahead });
  document.getElementById("eta").textContent = etaText(ticket);
  document.getElementById("issued").textContent = t("issued", { time: timeOf(ticket.issued_at, timezone) });

  const called = document.getElementById("called");
  if (ticket.state === "called" && ticket.window !== null) {
    clear(
      called,
      el("p", { class: "go" }, t("go_to", { window: ticket.window })),
      el("p", { class: "where" }, t("go_where", { number: ticket.number, name: ticket.window_name || "" })),
    );
    called.hidden = false;
    if (lastState !== "called" && lastState !== null && navigator.vibrate) navigator.vibrate([300, 150, 300]);
  } else {
    called.hidden = true;
  }
  lastState = ticket.state;
  renderMaterials();
}

function renderMaterials() {
  const key = `hallctl.materials.${trackToken}`;
  const ticked = new Set(JSON.parse(localStorage.getItem(key) || "[]"));
  const blocks = ticket.materials.map((m) =>
    el(
      "div",
      {},
      ticket.materials.length > 1 ? el("h3", {}, m.name) : null,
      m.materials.length === 0
        ? el("p", {}, t("no_materials"))
        : el(
            "ul",
            {},
            m.materials.map((item) => {
              const id = `${m.matter}:${item}`;
              const box = el("input", { type: "checkbox", checked: ticked.has(id) });
              box.addEventListener("change", () => {
                if (box.checked) ticked.add(id);
                else ticked.delete(id);
                localStorage.setItem(key, JSON.stringify([...ticked]));
              });
              return el("li", {}, el("label", {}, box, el("span", {}, item)));
            }),
          ),
    ),
  );
  clear(document.getElementById("materials"), blocks);
}

function problem(message) {
  const node = document.getElementById("problem");
  node.textContent = message;
  node.hidden = !message;
}

async function start() {
  applyStrings();
  languageButton(document.getElementById("lang"), render);
  try {
    ticket = await api(`/api/v1/track/${encodeURIComponent(trackToken)}`);
  } catch (error) {
    problem(error.status === 404 ? t("not_found") : error.message);
    if (error.status === 404) return;
  }
  render();
  const marker = document.getElementById("live");
  let live = null;
  live = openLive(
    `/api/v1/track/${encodeURIComponent(trackToken)}/live`,
    {
      snapshot(data) {
        clockFrom(data.now);
        timezone = data.hall.timezone;
        if (data.ticket) {
          ticket = data.ticket;
          problem("");
          render();
        }
      },
      ticket(data) {
        if (data) {
          ticket = data;
          render();
        }
      },
    },
    async (state) => {
      liveMarker(marker, state);
      if (state !== "refused") return;
      live.close();
      try {
        await api(`/api/v1/track/${encodeURIComponent(trackToken)}`);
        setTimeout(() => live.reopen(), 5000); // the daemon was busy or restarting: try again
      } catch (error) {
        if (error.status === 404) problem(t("not_found"));
        else setTimeout(() => live.reopen(), 5000);
      }
    },
  );
}

start();
