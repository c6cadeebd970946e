// The kiosk's choosing screens: the start (every matter group, and the green, large-enterprise and
// appointment ways in), the groups again for a chosen channel, a group's matters, the materials to bring
// (一次性告知) with 确认取号, and the code screens (the enterprise's credit code, an appointment code).
import { clear, el, t } from "/static/common.js";
import { backButton, channelBadge, codeEntry, codeLayout, matterName, nav, tile } from "/static/kiosk_parts.js";
import { kiosk, problem, screen } from "/static/kiosk_state.js";
import { issue, stopCountdown } from "/static/kiosk_ticket.js";

// Characters of a unified social credit code (GB 32100: no I, O, S, V, Z).
const CREDIT_KEYS = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const APPOINTMENT_KEYS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ-";

/** A tile for each matter group that has matters, listing them; ``labelled`` also names them all aloud. */
function groupTiles({ labelled = false } = {}) {
  const groups = kiosk.hall.groups
    .map((g) => ({ ...g, matters: kiosk.matters.filter((m) => m.prefix === g.prefix) }))
    .filter((g) => g.matters.length > 0);
  return el(
    "div",
    { class: "tiles" },
    groups.map((g) =>
      tile(g.name, g.matters.map(matterName).join(" · "), () => showMatters(g), {
        label: labelled ? `${g.name}：${g.matters.map(matterName).join("、")}` : null,
      }),
    ),
  );
}

export function showHome() {
  kiosk.flow = { channel: "normal", group: null, matter: null };
  stopCountdown();
  problem("");
  kiosk.redraw = showHome;
  clear(
    screen(),
    el("h2", {}, t("welcome")),
    groupTiles({ labelled: true }),
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
  kiosk.flow.channel = channel;
  showGroups();
}

function showGroups() {
  kiosk.redraw = showGroups;
  clear(screen(), channelBadge(), el("h2", {}, t("welcome")), groupTiles(), nav(backButton(showHome)));
}

function showMatters(group) {
  kiosk.flow.group = group;
  kiosk.redraw = () => showMatters(group);
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
    nav(backButton(kiosk.flow.channel === "normal" ? showHome : showGroups)),
  );
}

function showMaterials(matter) {
  kiosk.flow.matter = matter;
  kiosk.redraw = () => showMaterials(matter);
  const needsCode = kiosk.flow.channel === "enterprise";
  const entry = needsCode ? codeEntry(t("credit_code"), CREDIT_KEYS, 18) : null;
  const take = el("button", { type: "button", class: "primary", disabled: needsCode }, t("take"));
  if (entry) entry.onChange = (value) => (take.disabled = value.length !== 18);
  take.addEventListener("click", () =>
    issue(
      { matter: matter.code, channel: kiosk.flow.channel, ...(needsCode ? { credit_code: entry.value() } : {}) },
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
  const buttons = nav(backButton(() => showMatters(kiosk.flow.group)), take);
  if (!entry) {
    clear(screen(), info, buttons);
    return;
  }
  // The materials stay in sight while the code is typed (codeLayout).
  clear(screen(), codeLayout(info, entry, buttons));
}

function showAppointment() {
  kiosk.flow.channel = "appointment";
  kiosk.redraw = showAppointment;
  const entry = codeEntry(t("appointment_code"), APPOINTMENT_KEYS, 32);
  const take = el("button", { type: "button", class: "primary", disabled: true }, t("take"));
  entry.onChange = (value) => (take.disabled = value.length === 0);
  take.addEventListener("click", () =>
    issue({ channel: "appointment", appointment_code: entry.value() }, take),
  );
  const info = [channelBadge(), el("h2", {}, t("appointment_sub"))];
  clear(screen(), codeLayout(info, entry, nav(backButton(showHome), take)));
}

