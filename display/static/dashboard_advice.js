// The dashboard's staffing advice (人员配置建议): windows each hour of today needs by Erlang C over the last
// four weeks (GET /api/v1/advice/staffing), and a what-if — "open one more integrated window from 10:00" —
// that simulates the rest of today both ways (GET /api/v1/advice/what-if).
import { api, clear, defineStrings, el, t } from "/static/common.js";

defineStrings({
  zh: {
    advice: "人员配置建议",
    advice_basis: "依据 {from} 至 {to} 中 {days} 天的取号记录（{basis}），目标：{level} 在承诺时限内叫号",
    basis_weekday: "同为星期{weekday}",
    basis_all_days: "近四周全部日期",
    advice_none: "近四周没有取号记录，暂无建议。",
    col_hour: "时段",
    col_pool: "窗口类型",
    col_arrivals: "预计取号/时",
    col_advised: "建议窗口",
    col_open_now: "现开窗口",
    have_helping: "{have}（+{n} 兼办）",
    helping_title: "另有 {n} 个其他窗口也办理此类业务，未计入建议数",
    pool_integrated: "综合窗口",
    pool_consultation: "咨询窗口",
    pool_dedicated: "专窗",
    whatif_from: "从",
    whatif_extra: "增开",
    whatif_fewer: "减少",
    whatif_direction: "增开或减少",
    whatif_count: "窗口数",
    whatif_unit: "个",
    whatif_run: "试算",
    whatif_running: "正在模拟今天余下时段……",
    whatif_result: "从 {from} 起增开 {extra} 个{pool}：今天余下时段平均等候由 {now} 变为 {after}",
    whatif_result_fewer: "从 {from} 起减少 {extra} 个{pool}（如午休）：今天余下时段平均等候由 {now} 变为 {after}",
    col_now: "现状",
    col_after: "增开后",
    minutes_value: "{n} 分钟",
  },
  en: {
    advice: "Staffing advice",
    advice_basis: "From {days} day(s) of tickets between {from} and {to} ({basis}); target: {level} called within the promise",
    basis_weekday: "the same weekday",
    basis_all_days: "every day of the last four weeks",
    advice_none: "No tickets in the last four weeks: no advice yet.",
    col_hour: "Hour",
    col_pool: "Windows",
    col_arrivals: "Tickets/h",
    col_advised: "Advised",
    col_open_now: "Open now",
    have_helping: "{have} (+{n} helping)",
    helping_title: "{n} window(s) of another kind also take this work; not counted in the advice",
    pool_integrated: "integrated",
    pool_consultation: "consultation",
    pool_dedicated: "dedicated",
    whatif_from: "From",
    whatif_extra: "open",
    whatif_fewer: "close",
    whatif_direction: "open or close",
    whatif_count: "windows",
    whatif_unit: "window(s)",
    whatif_run: "Simulate",
    whatif_running: "Simulating the rest of today…",
    whatif_result: "{extra} more {pool} window(s) from {from}: the mean wait for the rest of today goes from {now} to {after}",
    whatif_result_fewer: "{extra} fewer {pool} window(s) from {from} (a lunch break, say): the mean wait for the rest of today goes from {now} to {after}",
    col_now: "As now",
    col_after: "With change",
    minutes_value: "{n} min",
  },
});

const WEEKDAYS_ZH = ["一", "二", "三", "四", "五", "六", "日"];
let advice = null;
let whatIf = null;

function minutes(n) {
  return n === null || n === undefined ? "—" : t("minutes_value", { n });
}

function hourText(h) {
  return `${String(h).padStart(2, "0")}:00`;
}

function renderAdvice() {
  const basis = document.getElementById("advice-basis");
  const body = document.getElementById("advice");
  if (!advice) return;
  if (!advice.hours.length) {
    basis.textContent = t("advice_none");
    clear(body);
    return;
  }
  const l = advice.learned_from;
  const weekday = WEEKDAYS_ZH[(new Date(`${advice.day}T12:00:00`).getDay() + 6) % 7];
  basis.textContent = t("advice_basis", {
    from: l.from,
    to: l.to,
    days: l.days,
    basis: t(`basis_${l.basis}`, { weekday }),
    level: `${Math.round(advice.service_level * 100)}%`,
  });
  clear(
    body,
    advice.hours.map((h) => {
      const have = h.staffed ? h.staffed.windows : 0;
      // Windows of other kinds that also take this pool's tickets (the green window doing ordinary work)
      // are not in Erlang's count: shown beside it, and an hour is short only beyond them too.
      const helping = (advice.helping || {})[h.pool] || 0;
      const short = h.recommended.windows > have + helping;
      return el(
        "tr",
        { dataset: { short: short ? "yes" : "no" } },
        el("td", {}, hourText(h.hour)),
        el("td", {}, t(`pool_${h.pool}`)),
        el("td", { class: "num" }, h.arrivals_per_hour.toFixed(1)),
        el("td", { class: "num advised" }, h.recommended.windows),
        el("td", { class: "num", title: helping ? t("helping_title", { n: helping }) : null },
          helping ? t("have_helping", { have, n: helping }) : have),
      );
    }),
  );
}

function renderWhatIf() {
  const line = document.getElementById("whatif-result");
  const body = document.getElementById("whatif-hours");
  if (!whatIf) return;
  if (whatIf.error) {
    line.textContent = whatIf.error;
    clear(body);
    return;
  }
  line.textContent = t(whatIf.extra < 0 ? "whatif_result_fewer" : "whatif_result", {
    from: whatIf.from,
    extra: Math.abs(whatIf.extra),
    pool: t(`pool_${whatIf.kind}`),
    now: minutes(whatIf.mean_wait_minutes.now),
    after: minutes(whatIf.mean_wait_minutes.with_change),
  });
  clear(
    body,
    whatIf.hours.map((h) =>
      el(
        "tr",
        {},
        el("td", {}, hourText(h.hour)),
        el("td", { class: "num" }, minutes(h.now)),
        el("td", { class: "num" }, minutes(h.with_change)),
      ),
    ),
  );
}

export function renderStaffing() {
  renderAdvice();
  renderWhatIf();
}

async function runWhatIf(token, event) {
  event.preventDefault();
  const form = event.target;
  const button = form.querySelector("button");
  const query = new URLSearchParams({
    kind: form.kind.value,
    extra: String((form.direction.value === "fewer" ? -1 : 1) * Number(form.extra.value)),
    from: form.from.value,
  });
  button.disabled = true;
  document.getElementById("whatif-result").textContent = t("whatif_running");
  try {
    whatIf = await api(`/api/v1/advice/what-if?${query}`, { token });
  } catch (error) {
    whatIf = { error: error.message };
  } finally {
    button.disabled = false;
  }
  renderWhatIf();
}

/** Load the advice and wire the what-if form; the advice is reloaded every 15 minutes. */
export async function startStaffing(token) {
  const form = document.getElementById("whatif");
  const next = new Date();
  form.from.value = `${String(Math.min(23, next.getHours() + 1)).padStart(2, "0")}:00`;
  form.addEventListener("submit", (event) => runWhatIf(token, event));
  const load = async () => {
    try {
      advice = await api("/api/v1/advice/staffing", { token });
    } catch (error) {
      document.getElementById("advice-basis").textContent = error.message;
      return;
    }
    renderAdvice();
  };
  await load();
  setInterval(load, 15 * 60_000);
}
