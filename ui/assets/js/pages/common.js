// Building blocks shared by the pages.

import {h, errorBox, replace} from "../dom.js";

/**
 * start sets up a page's root: data-page (and data-name for a detail
 * page), a heading with breadcrumbs, and returns the root.
 */
export function start(page, kind, title, crumbs = [], name) {
  page.el.dataset.page = kind;
  if (name !== undefined) page.el.dataset.name = name;
  page.el.append(h("header.page-head", null,
    crumbs.length ? h("nav.crumbs", {"aria-label": "Breadcrumbs"}, crumbs.map(([href, text]) => [h("a", {href: "#" + href}, text), " / "])) : null,
    h("h1", null, title)));
  return page.el;
}

/** card is a titled box; extra goes to the right of the title. */
export function card(title, body, extra) {
  return h("section.card", null, h("div.card-head", null, h("h2", null, title), extra || null), body);
}

/** slot is an element to fill later (a table, a chart). */
export function slot(id) {
  return h("div.slot", id ? {id} : null);
}

/**
 * action runs fn when button is clicked, with the button disabled while it
 * runs, and shows in out what fn answers (text or nodes; undefined shows
 * nothing, for a cancelled action) or its error. done, if given, runs
 * after fn succeeded (to refresh the page).
 */
export function action(button, out, fn, done) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    out.classList.remove("ok", "failed");
    replace(out, "Working…");
    try {
      const shown = await fn();
      if (shown === undefined) {
        replace(out);
      } else {
        out.classList.add("ok");
        replace(out, shown);
        done?.();
      }
    } catch (e) {
      out.classList.add("failed");
      replace(out, errorBox(e));
    } finally {
      button.disabled = false;
    }
  });
}

/** result is the element where an action's outcome appears. */
export function result(id) {
  return h("div.result", {id, role: "status"});
}

/**
 * settle fills el with build(value) when promise succeeds, or with the
 * error; it answers the value or undefined. Use it where a part of a page
 * may be refused (403) while the rest shows.
 */
export async function settle(el, promise, build) {
  try {
    const v = await promise;
    replace(el, build(v));
    return v;
  } catch (e) {
    if (e.status === 401) throw e;
    replace(el, errorBox(e));
    return undefined;
  }
}

/** matchResult shows the answer of a filter or pattern test. */
export function matchResult(match) {
  return match ? h("span.match.yes", null, "✔ match") : h("span.match.no", null, "✘ no match");
}
