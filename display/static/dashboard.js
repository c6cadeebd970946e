// The manager's dashboard (大厅运行看板): every window and queue against its target, device health, the
// day's waiting curve; open and close windows and change a window's profile (with confirmation). Windows,
// figures and devices come from the live stream; the controls call the manager API.
import {
  api,
  applyStrings,
  askToken,
  checkToken,
  clear,
  clockFrom,
  confirmDialog,
  defineStrings,
  duration,
  el,
  forgetToken,
  formatClock,
  hallNow,
  languageButton,
  liveMarker,
  minutesText,
  openLive,
  say,
  t,
  takeToken,
  timeOf,
} from "/static/common.js";
import { renderStaffing, startStaffing } from "/static/dashboard_advice.js";

defineStrings({
  zh: {
    title: "大厅运行看板",
    sign_out: "注销令牌",
    summary: "概况",
    waiting_now: "当前等候",
    longest_now: "最长等候",
    issued_today: "今日取号",
    served_today: "今日办结",
    avg_wait: "平均等候",
    service_level: "等候达标率",
    followups: "差评整改未销号",
    overdue: "其中逾期",
    windows: "窗口",
    queues: "队列",
    chart: "今日等候人数",
    devices: "设备",
    recent_calls: "最近叫号",
    col_window: "窗口",
    col_state: "状态",
    col_clerk: "柜员",
    col_current: "当前号票",
    col_served: "今日办结",
    col_avg_service: "平均办理",
    col_can_call: "可叫人数",
    col_profile: "业务配置",
    col_actions: "操作",
    col_group: "分组",
    col_matter: "事项",
    col_waiting: "等候",
    col_longest: "最长等候",
    col_expected: "预计等候",
    col_target: "目标",
    col_status: "状态",
    col_device: "设备",
    col_kind: "类型",
    col_last_seen: "最后在线",
    col_failures: "故障",
    open: "开放",
    paused: "暂停",
    closed: "关闭",
    open_window: "开放",
    close_window: "关闭",
    open_title: "开放{window}？",
    open_text: "开放后柜员可登录并叫号。",
    close_title: "关闭{window}？",
    close_text: "关闭后该窗口不再叫号，已登录的柜员将被登出。",
    profile_title: "更改{window}的业务配置？",
    profile_text: "由“{from}”改为“{to}”，从下一次叫号起生效，并记入审计日志。",
    profile_label: "{window}的业务配置",
    reason: "原因（可不填）",
    changed: "已生效：{what}",
    level_ok: "正常",
    level_warn: "接近目标",
    level_alert: "超过目标",
    online: "在线",
    offline: "离线",
    never: "从未",
    broker_ok: "消息服务器 {url}：已连接（累计连接 {connects} 次）",
    broker_down: "消息服务器 {url}：未连接 {error}",
    no_broker: "未配置消息服务器：设备为模拟设备。",
    rejected: "拒收的设备消息：{n}",
    kind_window_display: "窗口屏",
    kind_call_keypad: "呼叫器",
    kind_rating_keypad: "评价器",
    kind_printer: "打印机",
    kind_voice: "语音",
    kind_broker: "消息服务器",
    kind_hall_board: "综合屏",
    no_calls: "今日尚无叫号",
    call_line: "{time} {number} → {window}号窗口{recall}",
    recall_mark: "（重呼）",
    auditor_note: "稽核只读：不能更改窗口。",
  },
  en: {
    title: "Hall dashboard",
    sign_out: "Sign out",
    summary: "Summary",
    waiting_now: "Waiting now",
    longest_now: "Longest wait",
    issued_today: "Issued today",
    served_today: "Served today",
    avg_wait: "Average wait",
    service_level: "Within target",
    followups: "Open bad-rating cases",
    overdue: "overdue",
    windows: "Windows",
    queues: "Queues",
    chart: "Waiting today",
    devices: "Devices",
    recent_calls: "Recent calls",
    col_window: "Window",
    col_state: "State",
    col_clerk: "Clerk",
    col_current: "Current",
    col_served: "Served",
    col_avg_service: "Avg service",
    col_can_call: "Can call",
    col_profile: "Profile",
    col_actions: "Actions",
    col_group: "Group",
    col_matter: "Matter",
    col_waiting: "Waiting",
    col_longest: "Longest",
    col_expected: "Expected",
    col_target: "Target",
    col_status: "Status",
    col_device: "Device",
    col_kind: "Kind",
    col_last_seen: "Last seen",
    col_failures: "Failures",
    open: "open",
    paused: "paused",
    closed: "closed",
    open_window: "Open",
    close_window: "Close",
    open_title: "Open {window}?",
    open_text: "A clerk can then log in and call.",
    close_title: "Close {window}?",
    close_text: "The window stops calling and its clerk is logged out.",
    profile_title: "Change the profile of {window}?",
    profile_text: "From “{from}” to “{to}”, from the next call on; journaled.",
    profile_label: "Profile of {window}",
    reason: "Reason (optional)",
    changed: "Done: {what}",
    level_ok: "OK",
    level_warn: "Near target",
    level_alert: "Over target",
    online: "online",
    offline: "offline",
    never: "never",
    broker_ok: "Broker {url}: connected ({connects} connections)",
    broker_down: "Broker {url}: not connected {error}",
    no_broker: "No broker configured: devices are simulated.",
    rejected: "Refused device messages: {n}",
    kind_window_display: "window display",
    kind_call_keypad: "call keypad",
    kind_rating_keypad: "rating keypad",
    kind_printer: "printer",
    kind_voice: "voice",
    kind_broker: "broker",
    kind_hall_board: "hall board",
    no_calls: "No calls yet today",
    call_line: "{time} {number} → window {window}{recall}",
    recall_mark: " (again)",
    auditor_note: "Auditors may look, not change.",
  },
});

const view = {
  hall: null,
  windows: [],
  stats: null,
  devices: [],
  series: [],
  seriesStep: 300,
  profiles: [],
  recent: [],
  timezone: undefined,
  canChange: false,
};
let token = null;

const message = (text, kind = "ok") => say(document.getElementById("message"), text, kind);

function windowName(w) {
  return w.name || `${w.id}号窗口`;
}

/** ok / warn / alert: the worse of the longest and the expected wait against the target. */
function level(figures) {
  const target = figures.target_wait_minutes * 60;
  if (!target) return "ok";
  const worst = Math.max(figures.longest_wait_seconds || 0, (figures.expected_wait_minutes || 0) * 60);
  if (worst > target) return "alert";
  if (worst > 0.75 * target) return "warn";
  return "ok";
}

// -- rendering -----------------------------------------------------------------------------------------
function renderSummary() {
  const s = view.stats;
  if (!s) return;
  const set = (id, text) => (document.getElementById(id).textContent = text);
  set("sum-waiting", String(s.live.waiting));
  set("sum-longest", duration(s.live.longest_wait_seconds));
  set("sum-issued", String(s.today.issued));
  set("sum-served", String(s.today.served));
  set("sum-wait", duration(s.today.wait_seconds.mean));
  set("sum-level", s.today.service_level === null ? "—" : `${Math.round(s.today.service_level * 100)}%`);
  // 差评整改: open cases, and the card in the alert colour while any is past its deadline.
  const f = s.followups;
  set("sum-followups", f ? String(f.open) : "—");
  set("sum-overdue", f ? String(f.overdue) : "—");
  document.getElementById("sum-followups-card").dataset.level = f && f.overdue > 0 ? "alert" : "ok";
}

let windowsPending = false;

function renderWindows() {
  // Not while the manager is choosing a profile or confirming: the rebuilt row would close the menu.
  if (document.querySelector("#windows select:focus, dialog[open]")) {
    windowsPending = true;
    return;
  }
  windowsPending = false;
  const rows = view.windows.map((w) => {
    const figures = (view.stats && view.stats.windows[String(w.id)]) || {};
    const service = figures.service_seconds || {};
    const actions = el("div", { class: "row-actions" });
    if (view.canChange) {
      if (w.state === "closed") {
        actions.append(
          el(
            "button",
            {
              type: "button",
              class: "secondary",
              "aria-label": `${t("open_window")} ${windowName(w)}`,
              onclick: () => openWindow(w),
            },
            t("open_window"),
          ),
        );
      } else {
        actions.append(
          el(
            "button",
            {
              type: "button",
              class: "danger",
              "aria-label": `${t("close_window")} ${windowName(w)}`,
              onclick: () => closeWindow(w),
            },
            t("close_window"),
          ),
        );
      }
    }
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

function renderQueues() {
  if (!view.stats) return;
  const rows = Object.entries(view.stats.matters).map(([code, m]) => {
    const lvl = level(m);
    return el(
      "tr",
      { "data-level": lvl, "data-matter": code },
      el("td", {}, m.group),
      el("th", { scope: "row" }, m.name),
      el("td", { class: "num" }, String(m.waiting)),
      el("td", { class: "num" }, duration(m.longest_wait_seconds)),
      el("td", { class: "num" }, minutesText(m.expected_wait_minutes)),
      el("td", { class: "num" }, minutesText(m.target_wait_minutes)),
      el("td", {}, el("span", { class: "badge", "data-level": lvl }, t(`level_${lvl}`))),
    );
  });
  clear(document.getElementById("queues"), rows);
}

function renderDevices() {
  const rows = view.devices.map((d) =>
    el(
      "tr",
      {},
      el("th", { scope: "row" }, d.id),
      el("td", {}, t(`kind_${d.kind}`)),
      el("td", {}, d.window ?? "—"),
      el("td", {}, el("span", { class: "badge", "data-online": String(d.online) }, d.online ? t("online") : t("offline"))),
      el("td", {}, d.last_seen_iso ? timeOf(d.last_seen_iso, view.timezone) : t("never")),
      el(
        "td",
        {},
        String(d.failures),
        d.last_error ? el("span", { class: "error-text" }, ` ${d.last_error}`) : null,
      ),
    ),
  );
  clear(document.getElementById("devices"), rows);
}

function renderCalls() {
  const items = view.recent.map((c) =>
    el(
      "li",
      {},
      t("call_line", {
        time: timeOf(c.at, view.timezone),
        number: c.number,
        window: c.window,
        recall: c.recall ? t("recall_mark") : "",
      }),
    ),
  );
  clear(document.getElementById("calls"), items.length ? items : el("li", {}, t("no_calls")));
}

function renderChart() {
  const points = view.series;
  const box = document.getElementById("chart");
  if (!points.length) return clear(box);
  const width = 800;
  const height = 220;
  const left = 36;
  const bottom = 22;
  const t0 = points[0][0];
  const t1 = Math.max(points[points.length - 1][0], t0 + 3600);
  const top = Math.max(5, ...points.map((p) => p[1]));
  const x = (at) => left + ((at - t0) / (t1 - t0)) * (width - left - 8);
  const y = (n) => height - bottom - (n / top) * (height - bottom - 10);
  const line = points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" ");
  const area = `${x(points[0][0])},${y(0)} ${line} ${x(points[points.length - 1][0])},${y(0)}`;
  let ticks = "";
  const firstHour = Math.ceil(t0 / 3600) * 3600;
  for (let at = firstHour; at <= t1; at += 3600) {
    const label = formatClock(new Date(at * 1000), view.timezone);
    ticks += `<line class="axis" x1="${x(at)}" x2="${x(at)}" y1="${height - bottom}" y2="${height - bottom + 4}"/>`;
    ticks += `<text x="${x(at)}" y="${height - 6}" text-anchor="middle">${label}</text>`;
  }
  box.innerHTML = `<svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${t("chart")}">
    <line class="axis" x1="${left}" x2="${width}" y1="${y(0)}" y2="${y(0)}"/>
    <line class="axis" x1="${left}" x2="${left}" y1="10" y2="${y(0)}"/>
    <text x="${left - 6}" y="${y(top) + 4}" text-anchor="end">${top}</text>
    <text x="${left - 6}" y="${y(0)}" text-anchor="end">0</text>
    ${ticks}
    <polygon class="area" points="${area}"/>
    <polyline class="line" points="${line}"/>
  </svg>`;
}

function renderAll() {
  renderSummary();
  renderWindows();
  renderQueues();
  renderDevices();
  renderCalls();
  renderChart();
}

// -- controls (manager only) ---------------------------------------------------------------------------
function reasonField() {
  const input = el("input", { type: "text", maxlength: "500", "aria-label": t("reason") });
  return { input, node: el("label", {}, t("reason"), input) };
}

async function send(path, method, body, what) {
  setTimeout(() => windowsPending && renderWindows(), 0);
  try {
    await api(path, { method, body, token });
    message(t("changed", { what }), "ok");
  } catch (error) {
    message(error.message, "error");
    if (error.status === 401) lostToken(t("token_bad"));
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
    setTimeout(() => windowsPending && renderWindows(), 0);
    return;
  }
  await send(
    `/api/v1/windows/${w.id}/profile`,
    "PUT",
    { profile: to, reason: reason.input.value.trim() },
    `${windowName(w)} → ${to}`,
  );
}

// -- devices' broker line (GET /api/v1/devices) -----------------------------------------------------------
async function refreshBroker() {
  const line = document.getElementById("broker");
  try {
    const answer = await api("/api/v1/devices", { token });
    const b = answer.broker;
    const rejected = Object.values(answer.rejected || {}).reduce((a, n) => a + n, 0);
    let text = !b
      ? t("no_broker")
      : b.connected
        ? t("broker_ok", { url: b.url, connects: b.connects })
        : t("broker_down", { url: b.url, error: b.last_error || "" });
    if (rejected) text += `　${t("rejected", { n: rejected })}`;
    line.textContent = text;
    if (answer.devices && !view.devices.length) {
      view.devices = answer.devices;
      renderDevices();
    }
  } catch (error) {
    line.textContent = error.message;
  }
}

// -- start ---------------------------------------------------------------------------------------------
async function lostToken(problem) {
  forgetToken("dashboard");
  token = await askToken("dashboard", t("role_staff"), problem);
  location.reload();
}

function tickClock() {
  document.getElementById("clock").textContent = formatClock(hallNow(), view.timezone, { seconds: true });
}

async function start() {
  applyStrings();
  languageButton(document.getElementById("lang"), () => {
    renderAll();
    renderStaffing();
    refreshBroker();
  });
  document.getElementById("windows").addEventListener("focusout", () => {
    setTimeout(() => windowsPending && renderWindows(), 0);
  });
  document.getElementById("forget").addEventListener("click", () => {
    forgetToken("dashboard");
    location.reload();
  });
  token = takeToken("dashboard");
  if (!token) token = await askToken("dashboard", t("role_staff"));
  const verdict = await checkToken(token, ["manager", "auditor"]);
  if (verdict === "bad") return lostToken(t("token_bad"));
  if (verdict === "role") return lostToken(t("token_role", { role: t("role_staff") }));
  const me = await api("/api/v1/me", { token });
  view.canChange = me.role === "manager";
  if (!view.canChange) message(t("auditor_note"), "info");
  setInterval(tickClock, 1000);
  refreshBroker();
  setInterval(refreshBroker, 30_000);
  startStaffing(token);
  const marker = document.getElementById("live");
  let live = null;
  live = openLive(
    `/api/v1/live?view=dashboard&token=${encodeURIComponent(token)}`,
    {
      snapshot(data) {
        clockFrom(data.now);
        view.hall = data.hall;
        view.timezone = data.hall.timezone;
        view.windows = data.windows;
        view.stats = data.stats;
        view.devices = data.devices;
        view.series = data.series;
        view.seriesStep = data.series_step;
        view.profiles = data.profiles;
        view.recent = data.recent;
        document.getElementById("hall-name").textContent = data.hall.name;
        document.title = `${t("title")} · ${data.hall.name}`;
        renderAll();
        tickClock();
      },
      window(w) {
        view.windows = view.windows.map((x) => (x.id === w.id ? w : x));
        renderWindows();
      },
      stats(stats) {
        view.stats = stats;
        const [at, waiting] = stats.point;
        const last = view.series[view.series.length - 1];
        const before = view.series[view.series.length - 2];
        // One point per step; within a step the newest point stands in for it.
        if (last && before && at - before[0] < view.seriesStep) view.series[view.series.length - 1] = [at, waiting];
        else view.series.push([at, waiting]);
        renderSummary();
        renderWindows();
        renderQueues();
        renderChart();
      },
      devices(data) {
        view.devices = data.devices;
        renderDevices();
      },
      call(call) {
        view.recent = [call, ...view.recent.filter((c) => c.id !== call.id || !c.id)].slice(0, 12);
        renderCalls();
      },
    },
    async (state) => {
      liveMarker(marker, state);
      if (state !== "refused") return;
      live.close();
      const again = await checkToken(token, ["manager", "auditor"]);
      if (again === "bad" || again === "role") return lostToken(t("token_bad"));
      setTimeout(() => live.reopen(), 3000);
    },
  );
}

start();
