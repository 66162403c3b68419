// gatehouse live updates (SPEC "Live updates"): a signed-in page listens on
// /api/auth/events and changes in place; on sign-out it goes to /signin.
// Both under the mount prefix the page names in <html data-base>.
// No framework, no build step; the page works the same without it.
(function () {
  "use strict";
  if (typeof window.EventSource !== "function") return;
  if (!document.getElementById("user-name")) return;

  var BASE = document.documentElement.getAttribute("data-base") || "";
  var MAX_DELAY = 60000;
  var delay = 1000;
  var known = null; // { role, plan } of the last session event
  var source = null;
  // Set once this page navigates itself (a form sent, a link followed): a
  // sign-out it causes is not news to it, and its own answer decides where
  // the browser goes.
  var leaving = false;

  function setAvatar(image) {
    var img = document.getElementById("user-avatar");
    if (!img) return;
    if (image) {
      if (img.getAttribute("src") !== image) img.setAttribute("src", image);
      img.hidden = false;
    } else {
      img.removeAttribute("src");
      img.hidden = true;
    }
  }

  function notify(text) {
    var box = document.getElementById("live-notice");
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
  }

  // A notice in the page's language: the page carries each sentence
  // (data-role, data-plan on #live-notice) with a {value} to fill in.
  function said(what, value) {
    var box = document.getElementById("live-notice");
    var sentence = (box && box.getAttribute("data-" + what)) || what + ": {value}";
    return sentence.split("{value}").join(value);
  }

  function onSession(event) {
    if (leaving) return;
    var session;
    try { session = JSON.parse(event.data); } catch (e) { return; }
    if (!session || !session.user) return;
    var user = session.user;
    var name = document.getElementById("user-name");
    if (name && typeof user.name === "string") name.textContent = user.name;
    setAvatar(user.image || null);
    var root = document.documentElement;
    // The page's words are in the language it was rendered in: another
    // language needs the page again (<html lang> is the user's preference).
    if (user.language && user.language !== root.getAttribute("lang")) {
      leave();
      window.location.reload();
      return;
    }
    if (user.theme) root.setAttribute("data-theme", user.theme);
    if (known) {
      if (known.role !== user.role) {
        notify(said("role", user.role));
      } else if (known.plan !== user.plan) {
        notify(said("plan", user.plan));
      }
    }
    known = { role: user.role, plan: user.plan };
    delay = 1000;
  }

  function onSignout(event) {
    if (leaving) return;
    var reason = "signed_out";
    try {
      var data = JSON.parse(event.data);
      if (data && typeof data.reason === "string" && /^[a-z_]+$/.test(data.reason)) {
        reason = data.reason;
      }
    } catch (e) { /* keep the default */ }
    if (source) source.close();
    source = null;
    window.location.assign(BASE + "/signin?reason=" + encodeURIComponent(reason));
  }

  function open() {
    if (leaving || source) return;
    source = new EventSource(BASE + "/api/auth/events");
    source.addEventListener("session", onSession);
    source.addEventListener("signout", onSignout);
    source.onerror = function () {
      // EventSource retries by itself while it can; once it has given up
      // (a 401, a 503, a 404) it is CLOSED: back off and open a new one.
      if (source && source.readyState === EventSource.CLOSED) {
        source = null;
        setTimeout(reopen, delay);
        delay = Math.min(delay * 2, MAX_DELAY);
      }
    };
  }

  // Before opening again: a session that ended while the stream was away
  // (a 401) sends the page to /signin as a signout event would.
  function reopen() {
    if (leaving) return;
    if (typeof window.fetch !== "function") { open(); return; }
    window.fetch(BASE + "/api/auth/session", { credentials: "same-origin", cache: "no-store" })
      .then(function (res) { return res.ok ? res.json() : undefined; })
      .then(function (session) {
        if (leaving) return;
        if (session === null) {
          window.location.assign(BASE + "/signin?reason=revoked");
        } else {
          open();
        }
      }, open);
  }

  function leave() {
    leaving = true;
    if (source) source.close();
    source = null;
  }
  // Capture: before the form's own request leaves.
  document.addEventListener("submit", leave, true);
  window.addEventListener("beforeunload", leave);
  window.addEventListener("pagehide", leave);
  // Back to this page from the back/forward cache: listen again.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      leaving = false;
      open();
    }
  });
  open();
})();
