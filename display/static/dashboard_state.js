// What the dashboard knows (the windows, today's figures, devices, the waiting curve, the latest calls,
// all from the live stream) and its token; the panels, the window controls and the start share it.
import { say } from "/static/common.js";
import { staffSession } from "/static/staff_page.js";

export const view = {
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
export const staff = staffSession({ page: "dashboard", roleKey: "role_staff", roles: ["manager", "auditor"] });

export const message = (text, kind = "ok") => say(document.getElementById("message"), text, kind);

export function windowName(w) {
  return w.name || `${w.id}号窗口`;
}
