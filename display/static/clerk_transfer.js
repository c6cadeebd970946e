// The clerk's transfer (转办) picker: the hall's matters grouped by matter group, a filter box (name, code,
// English name or pinyin initials), and each matter marked unavailable, with the reason, when no open
// window would ever call the ticket for it. Worked out here from what the page already has — the matters
// (GET /api/v1/matters) and the windows with their state and profile (the clerk stream keeps them live) —
// so the daemon needs nothing new; the daemon still checks the transfer itself.
import { currentLang, defineStrings, el, t } from "/static/common.js";

defineStrings({
  zh: {
    transfer_filter: "筛选事项",
    transfer_filter_hint: "输入名称、编码或拼音首字母（如 ylbx）",
    transfer_no_match: "没有匹配的事项",
    transfer_current: "当前事项",
    transfer_keep: "未选择新事项：保留原事项（{names}）",
    transfer_chosen: "已选：{names}",
    unavailable_closed: "不可转：办理窗口均已关闭",
    unavailable_none: "不可转：没有窗口为此通道办理该事项",
    only_paused: "办理窗口暂停服务中",
    bundle_unserved: "没有一个开放的窗口能同时办理所选事项，请减少选择。",
    target_cannot_serve: "{window}不办理{names}。",
    window_closed_mark: "{window}（已关闭）",
    window_paused_mark: "{window}（暂停服务）",
  },
  en: {
    transfer_filter: "Filter matters",
    transfer_filter_hint: "Name, code or pinyin initials (e.g. ylbx)",
    transfer_no_match: "No matter matches",
    transfer_current: "current",
    transfer_keep: "No new matter chosen: it keeps {names}",
    transfer_chosen: "Chosen: {names}",
    unavailable_closed: "Unavailable: its windows are all closed",
    unavailable_none: "Unavailable: no window serves it on this channel",
    only_paused: "its windows are paused",
    bundle_unserved: "No open window serves all the chosen matters together; choose fewer.",
    target_cannot_serve: "{window} does not serve {names}.",
    window_closed_mark: "{window} (closed)",
    window_paused_mark: "{window} (paused)",
  },
});

// -- which windows would take the ticket (a mirror of hallctl/core/routing.py, without the clock) -------
// routing.bucket_tier decides live; here the question is only whether a window would *ever* take the
// ticket, so the overflow rules count whatever their minutes or seconds. tests/e2e/test_pages.py checks
// this against the Python core for every window, channel and matter of the example hall.

/** Whether a profile serves all these matters ("*" serves every matter). */
export function servesMatters(profile, matters) {
  return profile.matters.includes("*") || matters.every((m) => profile.matters.includes(m));
}

/** Matters served at consultation windows: an idle integrated window may take them by overflow. */
export function consultationMatters(windows) {
  const out = new Set();
  for (const w of windows) {
    if (w.kind === "consultation") for (const m of w.profile.matters) if (m !== "*") out.add(m);
  }
  return out;
}

/** Whether a window would take a ticket for ``matters`` on ``channel``, sent to it or to no window. */
export function windowTakes(window, matters, channel, consultation, { target = null } = {}) {
  const profile = window.profile;
  if (target !== null) return target === window.id && servesMatters(profile, matters);
  if (profile.channels.includes(channel) && servesMatters(profile, matters)) return true;
  return profile.rules.some(
    (rule) =>
      (rule.rule === "enterprise_overflow" && channel === "enterprise" && servesMatters(profile, matters)) ||
      (rule.rule === "consultation_overflow" &&
        profile.channels.includes(channel) &&
        matters.every((m) => consultation.has(m))),
  );
}

/**
 * Who would call a ticket for ``matters`` on ``channel``: "open" (an open window would), "paused" (only
 * paused ones), "closed" (only closed ones: it would wait for ever) or "none" (no window at all).
 */
export function reach(windows, matters, channel, { target = null } = {}) {
  const consultation = consultationMatters(windows);
  const states = new Set(
    windows.filter((w) => windowTakes(w, matters, channel, consultation, { target })).map((w) => w.state),
  );
  for (const state of ["open", "paused", "closed"]) if (states.has(state)) return state;
  return "none";
}

// -- pinyin initials, from the browser's own Chinese collation (no dictionary shipped) -------------------
// In pinyin order each of these characters is the first of its initial letter, so the last one a
// character sorts at or after gives its initial: 参保登记 → CBDJ. Polyphones take their common reading.
const PINYIN_LETTERS = "ABCDEFGHJKLMNOPQRSTWXYZ";
const PINYIN_FIRSTS = "阿八嚓哒妸发旮哈讥咔垃妈拏噢妑七呥仨他屲夕丫帀";
const HAN = /[\u3400-\u9fff]/;
let collator = null;

export function pinyinInitials(text) {
  collator ??= new Intl.Collator("zh-Hans-CN-u-co-pinyin");
  let out = "";
  for (const c of text) {
    if (!HAN.test(c)) {
      if (/[0-9a-z]/i.test(c)) out += c.toUpperCase();
      continue;
    }
    let letter = "";
    for (let i = 0; i < PINYIN_FIRSTS.length && collator.compare(c, PINYIN_FIRSTS[i]) >= 0; i++) {
      letter = PINYIN_LETTERS[i];
    }
    out += letter;
  }
  return out;
}

function matches(matter, query) {
  if (!query) return true;
  const q = query.toLowerCase();
  return [matter.name, matter.name_en || "", matter.code, pinyinInitials(matter.name)].some((s) =>
    s.toLowerCase().includes(q),
  );
}

// -- the picker ----------------------------------------------------------------------------------------
function displayName(matter) {
  return currentLang() === "en" && matter.name_en ? matter.name_en : matter.name;
}

function windowLabel(w) {
  return w.name || `${w.id}号窗口`;
}

/**
 * The picker's node and what it was set to. ``ticket`` is the ticket at the window (its ``matters`` and
 * ``channel``), ``ownWindow`` the clerk's window id. ``update(windows)`` re-marks everything when a window
 * changes while the dialog is open; ``onValidity(ok)`` hears whether the choice may be sent.
 */
export function transferPicker({ matters, windows, ticket, ownWindow, onValidity = () => {} }) {
  const current = new Set(ticket.matters);
  let hall = windows;
  const search = el("input", {
    type: "search",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: t("transfer_filter_hint"),
    "aria-label": t("transfer_filter"),
    class: "transfer-search",
  });
  const rows = matters.map((m) => {
    const box = el("input", { type: "checkbox", value: m.code });
    const mark = el("span", { class: "transfer-mark" });
    const node = el(
      "label",
      { class: "transfer-matter", dataset: { code: m.code } },
      box,
      el("span", { class: "transfer-name" }, displayName(m)),
      el("span", { class: "transfer-code" }, m.code),
      current.has(m.code) ? el("span", { class: "transfer-current" }, t("transfer_current")) : null,
      mark,
    );
    return { matter: m, box, mark, node };
  });
  const groups = [];
  for (const row of rows) {
    let group = groups.find((g) => g.prefix === row.matter.prefix);
    if (!group) {
      group = { prefix: row.matter.prefix, rows: [] };
      groups.push(group);
      group.node = el(
        "div",
        { class: "transfer-group", role: "group", "aria-label": row.matter.group },
        el("h3", {}, row.matter.group),
        el("div", { class: "transfer-items" }),
      );
    }
    group.rows.push(row);
    group.node.lastChild.append(row.node);
  }
  const noMatch = el("p", { class: "transfer-empty", hidden: true }, t("transfer_no_match"));
  const chosen = el("p", { class: "transfer-chosen", role: "status" });
  const warning = el("p", { class: "transfer-warning", role: "alert", hidden: true });
  const select = el("select", { "aria-label": t("transfer_window") });
  const reason = el("input", { type: "text", maxlength: "500", "aria-label": t("reason") });

  const names = (codes) =>
    codes.map((code) => displayName(matters.find((m) => m.code === code) || { name: code })).join("、");
  const selected = () => rows.filter((r) => r.box.checked).map((r) => r.matter.code);
  const target = () => (select.value ? Number(select.value) : null);

  function fillWindows() {
    const keep = select.value;
    select.replaceChildren(
      el("option", { value: "" }, t("any_window")),
      ...hall
        .filter((w) => w.id !== ownWindow)
        .map((w) => {
          const label =
            w.state === "closed"
              ? t("window_closed_mark", { window: windowLabel(w) })
              : w.state === "paused"
                ? t("window_paused_mark", { window: windowLabel(w) })
                : windowLabel(w);
          // A closed window calls nobody: a ticket sent there would wait for ever.
          return el("option", { value: String(w.id), disabled: w.state === "closed" }, label);
        }),
    );
    const still = [...select.options].find((o) => o.value === keep && !o.disabled);
    select.value = still ? keep : "";
  }

  function mark() {
    for (const row of rows) {
      const state = reach(hall, [row.matter.code], ticket.channel);
      const unavailable = state === "closed" || state === "none";
      row.box.disabled = unavailable;
      if (unavailable) row.box.checked = false; // a box the clerk can no longer untick must not stay ticked
      row.node.classList.toggle("unavailable", unavailable);
      row.node.dataset.reach = state;
      row.mark.textContent = unavailable
        ? t(state === "closed" ? "unavailable_closed" : "unavailable_none")
        : state === "paused"
          ? t("only_paused")
          : "";
    }
  }

  function filter() {
    const query = search.value.trim();
    let shown = 0;
    for (const group of groups) {
      let any = false;
      for (const row of group.rows) {
        const hit = matches(row.matter, query);
        row.node.hidden = !hit;
        any ||= hit;
        shown += hit ? 1 : 0;
      }
      group.node.hidden = !any;
    }
    noMatch.hidden = shown > 0;
  }

  function check() {
    const codes = selected();
    chosen.textContent = codes.length
      ? t("transfer_chosen", { names: names(codes) })
      : t("transfer_keep", { names: names(ticket.matters) });
    const into = codes.length ? codes : ticket.matters;
    const to = target();
    let problem = "";
    let ok = true;
    if (to !== null) {
      const w = hall.find((x) => x.id === to);
      // Said, not blocked: the daemon refuses this transfer itself and says so in words.
      if (w && reach(hall, into, ticket.channel, { target: to }) === "none") {
        problem = t("target_cannot_serve", { window: windowLabel(w), names: names(into) });
      }
    } else if (codes.length > 1 && !["open", "paused"].includes(reach(hall, codes, ticket.channel))) {
      problem = t("bundle_unserved");
      ok = false;
    }
    warning.textContent = problem;
    warning.hidden = !problem;
    onValidity(ok);
  }

  search.addEventListener("input", filter);
  search.addEventListener("keydown", (event) => {
    // Enter ticks the one matter left by the filter: type "ylbx", press Enter, done.
    if (event.key !== "Enter") return;
    event.preventDefault();
    const left = rows.filter((r) => !r.node.hidden && !r.box.disabled);
    if (left.length === 1) {
      left[0].box.checked = !left[0].box.checked;
      check();
    }
  });
  for (const row of rows) row.box.addEventListener("change", check);
  select.addEventListener("change", check);

  fillWindows();
  mark();
  filter();
  check();
  return {
    node: el(
      "div",
      { class: "transfer-picker" },
      search,
      // A group, not a fieldset: a fieldset will not shrink and scroll inside a flex column.
      el(
        "div",
        { class: "transfer-matters", role: "group", "aria-labelledby": "transfer-legend" },
        el("p", { class: "transfer-legend", id: "transfer-legend" }, t("transfer_matters")),
        el("div", { class: "transfer-list" }, groups.map((g) => g.node), noMatch),
      ),
      chosen,
      warning,
      el(
        "div",
        { class: "transfer-where" },
        el("label", {}, t("transfer_window"), select),
        el("label", {}, t("reason"), reason),
      ),
    ),
    focus: () => search.focus(),
    update(windows) {
      hall = windows;
      fillWindows();
      mark();
      check();
    },
    payload() {
      const codes = selected();
      const body = { reason: reason.value.trim() };
      if (codes.length) body.matters = codes;
      if (select.value) body.window = Number(select.value);
      return body;
    },
  };
}
