// The hall board (综合屏): the latest calls (the newest large and flashing), waiting per matter group,
// the hall's notices scrolling, and the clock. Fed by the live stream; it never polls.
import {
  applyStrings,
  askToken,
  checkToken,
  clear,
  clockFrom,
  defineStrings,
  el,
  forgetToken,
  formatClock,
  formatDate,
  hallNow,
  liveMarker,
  openLive,
  params,
  t,
  takeToken,
} from "/static/common.js";

defineStrings({
  zh: {
    now_calling: "正在叫号",
    recent_calls: "最近叫号",
    waiting: "等候人数",
    total: "合计",
    notices: "通知",
    no_calls: "请留意叫号",
    go_to: "请到{window}号窗口",
    recall: "重呼",
    call_label: "请 {number} 号到 {window} 号窗口",
  },
  en: {
    now_calling: "Now calling",
    recent_calls: "Recent calls",
    waiting: "Waiting",
    total: "Total",
    notices: "Notices",
    no_calls: "Please watch for your number",
    go_to: "Window {window}",
    recall: "again",
    call_label: "Number {number}, please go to window {window}",
  },
});

// How long a new call flashes before it just stays highlighted (the CSS animation runs 6 s).
const FRESH_MS = 10_000;

const view = {
  recent: [],
  groups: [],
  total: 0,
  timezone: undefined,
  freshId: null,
};

const layout = params.get("layout");
const portrait = () =>
  layout === "portrait" || (layout !== "landscape" && window.innerHeight > window.innerWidth);

function applyLayout() {
  document.body.classList.toggle("portrait", portrait());
}

function renderCurrent() {
  const node = document.getElementById("current");
  const call = view.recent[0];
  if (!call) {
    clear(node, el("p", { class: "idle" }, t("no_calls")));
    node.classList.remove("fresh");
    return;
  }
  clear(
    node,
    el("span", { class: "number" }, call.number),
    el(
      "span",
      { class: "go" },
      t("go_to", { window: call.window }),
      call.recall ? el("span", { class: "badge" }, t("recall")) : null,
    ),
  );
  node.setAttribute("aria-label", t("call_label", { number: call.number, window: call.window }));
  if (view.freshId !== null && call.id === view.freshId) {
    // Restart the animation even when two calls come within its run.
    node.classList.remove("fresh");
    void node.offsetWidth;
    node.classList.add("fresh");
    clearTimeout(renderCurrent.timer);
    renderCurrent.timer = setTimeout(() => node.classList.remove("fresh"), FRESH_MS);
  }
}

function renderRecent() {
  const list = document.getElementById("recent");
  const rows = portrait() ? 6 : 6;
  clear(
    list,
    view.recent.slice(1, 1 + rows).map((call) =>
      el(
        "li",
        {},
        el("span", { class: "number" }, call.number),
        el(
          "span",
          { class: "where" },
          t("go_to", { window: call.window }),
          call.recall ? el("span", { class: "badge" }, t("recall")) : null,
        ),
      ),
    ),
  );
}

function renderWaiting() {
  clear(
    document.getElementById("groups"),
    view.groups.map((g) =>
      el("li", {}, el("span", { class: "name" }, g.name), el("span", { class: "count" }, String(g.waiting))),
    ),
  );
  document.getElementById("total").textContent = String(view.total);
}

function renderNotices(notices) {
  const node = document.getElementById("notices");
  const text = notices.join("　　◆　　");
  node.textContent = text;
  // About 6 characters a second, whatever the length: slow enough to read from across the hall.
  node.style.setProperty("--ticker-seconds", `${Math.max(20, Math.round(text.length / 6))}s`);
}

function renderAll() {
  applyLayout();
  renderCurrent();
  renderRecent();
  renderWaiting();
  tick();
}

function tick() {
  const now = hallNow();
  document.getElementById("clock").textContent = formatClock(now, view.timezone, { seconds: true });
  document.getElementById("date").textContent = formatDate(now, view.timezone);
}

const handlers = {
  snapshot(data) {
    clockFrom(data.now);
    view.timezone = data.hall.timezone;
    document.getElementById("hall-name").textContent = data.hall.name;
    document.title = `${data.hall.name} · ${t("now_calling")}`;
    view.recent = data.recent;
    view.groups = data.waiting.groups;
    view.total = data.waiting.total;
    renderNotices(data.notices);
    renderAll();
  },
  call(call) {
    view.recent = [call, ...view.recent.filter((c) => c.id !== call.id)].slice(0, 12);
    view.freshId = call.id;
    renderCurrent();
    renderRecent();
  },
  waiting(waiting) {
    view.groups = waiting.groups;
    view.total = waiting.total;
    renderWaiting();
  },
};

const ROLES = ["display", "clerk", "manager", "auditor"];

async function start() {
  applyStrings();
  applyLayout();
  window.addEventListener("resize", renderAll);
  setInterval(tick, 1000);
  let token = takeToken("board");
  if (!token) token = await askToken("board", t("role_display"));
  const marker = document.getElementById("live");
  const url = () => `/api/v1/live?view=board&token=${encodeURIComponent(token)}`;
  let live = null;
  const onState = async (state) => {
    liveMarker(marker, state);
    if (state !== "refused") return;
    live.close();
    const verdict = await checkToken(token, ROLES);
    if (verdict === "bad" || verdict === "role") {
      forgetToken("board");
      const problem = verdict === "bad" ? t("token_bad") : t("token_role", { role: t("role_display") });
      token = await askToken("board", t("role_display"), problem);
    }
    setTimeout(() => (live = openLive(url(), handlers, onState)), verdict === "ok" ? 3000 : 0);
  };
  live = openLive(url(), handlers, onState);
}

start();
