// The manager's dashboard (大厅运行看板): every window and queue against its target, device health, the
// day's waiting curve; open and close windows and change a window's profile (with confirmation). Windows,
// figures and devices come from the live stream; the controls call the manager API.
//
// This module starts the page and wires the stream; beside it: dashboard_strings.js (the words),
// dashboard_state.js (what the page knows), dashboard_panels.js (figures, queues, devices, calls, chart),
// dashboard_windows.js (the windows table and its controls), dashboard_advice.js (staffing advice),
// staff_page.js (the token and stream, shared with the clerk terminal).
import "/static/dashboard_strings.js";
import { api, applyStrings, clockFrom, formatClock, hallNow, languageButton, t } from "/static/common.js";
import { renderStaffing, startStaffing } from "/static/dashboard_advice.js";
import {
  refreshBroker,
  renderCalls,
  renderChart,
  renderDevices,
  renderQueues,
  renderSummary,
} from "/static/dashboard_panels.js";
import { message, staff, view } from "/static/dashboard_state.js";
import { renderWindows, renderWindowsLater } from "/static/dashboard_windows.js";

function renderAll() {
  renderSummary();
  renderWindows();
  renderQueues();
  renderDevices();
  renderCalls();
  renderChart();
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
  document.getElementById("windows").addEventListener("focusout", renderWindowsLater);
  document.getElementById("forget").addEventListener("click", staff.forget);
  if (!(await staff.begin(t("token_role", { role: t("role_staff") })))) return;
  const me = await api("/api/v1/me", { token: staff.token });
  view.canChange = me.role === "manager";
  if (!view.canChange) message(t("auditor_note"), "info");
  setInterval(tickClock, 1000);
  refreshBroker();
  setInterval(refreshBroker, 30_000);
  startStaffing(staff.token);
  staff.live("dashboard", document.getElementById("live"), {
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
  });
}

start();
