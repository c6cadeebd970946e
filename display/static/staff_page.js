// What the two staff pages — the clerk terminal (clerk.js) and the dashboard (dashboard.js) — do alike: hold
// the page's token (asked for, checked, asked for again when refused), keep the live stream open with its
// marker, and ask for an optional reason in a confirmation.
import { askToken, checkToken, el, forgetToken, liveMarker, openLive, t, takeToken } from "/static/common.js";

/**
 * The token of a staff page. ``page`` names where it is kept, ``roleKey`` the role's name to say when
 * asking for it (in the language of the moment), ``roles`` those that may open the page; ``session``
 * keeps it for the tab only (a shared clerk PC).
 */
export function staffSession({ page, roleKey, roles, session = false }) {
  const staff = {
    token: null,
    /** Sign out: forget the token and start again (the page asks for one). */
    forget() {
      forgetToken(page);
      location.reload();
    },
    /** The token was refused: forget it, ask for another and start the page again with it. */
    async lost(problem) {
      forgetToken(page);
      staff.token = await askToken(page, t(roleKey), problem, { session });
      location.reload();
    },
    /**
     * Take the kept (or ``?token=``) token, asking when there is none; true when it may open the page.
     * Otherwise false, and the page is asking again (``wrongRole`` is said for another role's token).
     */
    async begin(wrongRole) {
      staff.token = takeToken(page, { session }) || (await askToken(page, t(roleKey), "", { session }));
      const verdict = await checkToken(staff.token, roles);
      if (verdict === "bad") staff.lost(t("token_bad"));
      else if (verdict === "role") staff.lost(wrongRole);
      else return true;
      return false;
    },
    /**
     * Open the page's live stream with the token, showing its state in ``marker``. Refused (revoked, say),
     * the token is checked again: a dead one is asked for anew, else the stream reopens after 3 s.
     */
    live(view, marker, handlers) {
      const url = `/api/v1/live?view=${view}&token=${encodeURIComponent(staff.token)}`;
      const stream = openLive(url, handlers, async (state) => {
        liveMarker(marker, state);
        if (state !== "refused") return;
        stream.close();
        const again = await checkToken(staff.token, roles);
        if (again === "bad" || again === "role") return staff.lost(t("token_bad"));
        setTimeout(() => stream.reopen(), 3000);
      });
      return stream;
    },
  };
  return staff;
}

/** An optional reason (原因) for a confirmation dialog: the label to show and the input to read it from. */
export function reasonField() {
  const input = el("input", { type: "text", maxlength: "500", "aria-label": t("reason") });
  return { input, node: el("label", {}, t("reason"), input) };
}
