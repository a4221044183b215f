// The dashboard's shell: sign-in, the navigation and hash routes
// (#/queues/orders), and the life of a page (its refresh timers and
// connections end when the user leaves it).

import {api, token, setToken, onUnauthenticated} from "./api.js";
import {h, errorBox, replace} from "./dom.js";
import {refreshMs} from "./history.js";
import {overview} from "./pages/overview.js";
import {queueList, queueDetail} from "./pages/queues.js";
import {topicList, topicDetail} from "./pages/topics.js";
import {streamList, streamDetail} from "./pages/streams.js";
import {busList, busDetail} from "./pages/buses.js";

const $ = (id) => document.getElementById(id);

// Routes: a pattern of the hash path, the page, and the nav section.
const routes = [
  [/^\/?$/, overview, "overview"],
  [/^\/queues\/?$/, queueList, "queues"],
  [/^\/queues\/([^/]+)$/, queueDetail, "queues"],
  [/^\/topics\/?$/, topicList, "topics"],
  [/^\/topics\/([^/]+)$/, topicDetail, "topics"],
  [/^\/streams\/?$/, streamList, "streams"],
  [/^\/streams\/([^/]+)$/, streamDetail, "streams"],
  [/^\/buses\/?$/, busList, "buses"],
  [/^\/buses\/([^/]+)$/, busDetail, "buses"],
];

/**
 * Page is the life of the page on screen: it refreshes with every() until
 * the user navigates away, then runs what onStop() registered.
 */
class Page {
  constructor(el) {
    this.el = el;
    this.stopped = false;
    this.timers = new Set();
    this.cleanups = [];
  }

  /** onStop registers fn to run when the page is left. */
  onStop(fn) {
    this.cleanups.push(fn);
  }

  /**
   * every runs fn now and then every refresh interval until the page is
   * left; the first run that succeeds marks the page ready
   * (data-ready="true", which the browser tests wait for). It returns a
   * function that runs fn again at once (after an action), or as soon as
   * the run in progress ends.
   */
  every(fn) {
    let timer = null;
    let running = false;
    let again = false;
    const tick = async () => {
      if (this.stopped) return;
      if (running) {
        again = true;
        return;
      }
      clearTimeout(timer);
      this.timers.delete(timer);
      running = true;
      try {
        await fn();
        this.el.querySelector(":scope > .page-error")?.remove();
        this.el.dataset.ready = "true";
      } catch (e) {
        this.fail(e);
      }
      running = false;
      if (this.stopped) return;
      if (again) {
        again = false;
        tick();
        return;
      }
      timer = setTimeout(tick, refreshMs());
      this.timers.add(timer);
    };
    tick();
    return tick;
  }

  /** fail shows an error that no part of the page handled. */
  fail(e) {
    let box = this.el.querySelector(":scope > .page-error");
    if (!box) {
      box = h("div.page-error");
      this.el.prepend(box);
    }
    replace(box, errorBox(e));
  }

  stop() {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    for (const fn of this.cleanups) fn();
  }
}

let current = null;

function show() {
  current?.stop();
  current = null;
  const hashPath = decodeHash(location.hash);
  const main = $("main");
  for (const [re, render, section] of routes) {
    const m = hashPath.match(re);
    if (!m) continue;
    for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.section === section);
    const el = h("section.page");
    main.replaceChildren(el);
    current = new Page(el);
    render(current, ...m.slice(1).map(decodeName));
    return;
  }
  main.replaceChildren(h("section.page", {dataset: {page: "missing", ready: "true"}},
    h("h1", null, "Not found"), h("p", null, "No page here. ", h("a", {href: "#/"}, "Back to the overview."))));
}

// decodeName decodes a name in a route, keeping a malformed one as it is.
function decodeName(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function decodeHash(hash) {
  return hash.replace(/^#/, "") || "/";
}

// Sign-in.

// showLogin shows the sign-in form, with a message (an error unless
// notice is set) when there is one.
function showLogin(message, notice) {
  current?.stop();
  current = null;
  $("main").replaceChildren();
  $("nav").hidden = true;
  $("login").hidden = false;
  $("logout").hidden = !token();
  const err = $("login-error");
  err.hidden = !message;
  replace(err, message ? h(notice ? "p.notice" : "div.error", null, message) : null);
  $("login-token").focus();
}

function showApp() {
  $("login").hidden = true;
  $("nav").hidden = false;
  $("logout").hidden = !token();
  $("session-status").textContent = token() ? "Signed in with a token" : "No authentication";
  show();
}

onUnauthenticated((err) => {
  // A stored token that the server refuses (revoked, or the server
  // restarted with other tokens) is forgotten.
  const had = token();
  setToken("");
  showLogin(had ? `The server refused the token: ${err.message}` : "");
});

$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const t = $("login-token").value.trim();
  if (!t) return;
  setToken(t);
  const err = $("login-error");
  try {
    await api("GET", "/v1/capabilities", undefined, {quiet: true});
  } catch (ex) {
    setToken("");
    err.hidden = false;
    replace(err, errorBox(ex));
    return;
  }
  $("login-token").value = "";
  err.hidden = true;
  showApp();
});

$("logout").addEventListener("click", () => {
  setToken("");
  $("session-status").textContent = "";
  showLogin("Signed out.", true);
});

window.addEventListener("hashchange", () => {
  if ($("login").hidden) show();
});

// Start: ask the server who may see it; a 401 shows the sign-in form.
(async () => {
  try {
    await api("GET", "/v1/capabilities", undefined, {quiet: true});
  } catch (e) {
    if (e.status === 401) {
      const had = token();
      setToken("");
      showLogin(had ? `The server refused the stored token: ${e.message}` : "");
    } else {
      $("main").replaceChildren(errorBox(e));
    }
    return;
  }
  showApp();
})();
