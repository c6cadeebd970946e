// The dashboard's read-only panels: the six figures on top, every matter's queue against its target, the
// devices with the broker line (GET /api/v1/devices), the latest calls, and the day's waiting curve.
import { api, clear, duration, el, formatClock, minutesText, t, timeOf } from "/static/common.js";
import { staff, view } from "/static/dashboard_state.js";

/** ok / warn / alert: the worse of the longest and the expected wait against the target. */
function level(figures) {
  const target = figures.target_wait_minutes * 60;
  if (!target) return "ok";
  const worst = Math.max(figures.longest_wait_seconds || 0, (figures.expected_wait_minutes || 0) * 60);
  if (worst > target) return "alert";
  if (worst > 0.75 * target) return "warn";
  return "ok";
}

export function renderSummary() {
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

export function renderQueues() {
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

export function renderDevices() {
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

export function renderCalls() {
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

export function renderChart() {
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

/** The broker line under the devices, and the devices themselves until the stream has sent them. */
export async function refreshBroker() {
  const line = document.getElementById("broker");
  try {
    const answer = await api("/api/v1/devices", { token: staff.token });
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
