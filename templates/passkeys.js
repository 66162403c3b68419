// gatehouse passkeys (SPEC "Two factors, passkeys, fresh sign-in"): the
// browser half of the two WebAuthn ceremonies. The server's options come as
// JSON with base64url strings; navigator.credentials wants ArrayBuffers, and
// its answer goes back as base64url JSON. No framework, no build step.
// Every text shown comes from the page (data-* attributes), in its language.
(function () {
  "use strict";

  // The mount prefix of gatehouse's routes (<html data-base>, "" at the root).
  var BASE = document.documentElement.getAttribute("data-base") || "";

  function b64urlToBuffer(s) {
    var b64 = s.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var bin = atob(b64);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return bytes.buffer;
  }

  function bufferToB64url(buf) {
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function post(path, body) {
    return fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": csrf() },
      body: JSON.stringify(body || {})
    }).then(function (res) {
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        return { ok: res.ok, status: res.status, data: data };
      });
    });
  }

  // The creation options with their binary members as ArrayBuffers.
  function creationOptions(o) {
    var pk = o.publicKey;
    pk.challenge = b64urlToBuffer(pk.challenge);
    pk.user.id = b64urlToBuffer(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = b64urlToBuffer(c.id); });
    return { publicKey: pk };
  }

  function requestOptions(o) {
    var pk = o.publicKey;
    pk.challenge = b64urlToBuffer(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = b64urlToBuffer(c.id); });
    return { publicKey: pk };
  }

  function extensions(cred) {
    try { return cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}; } catch (e) { return {}; }
  }

  function registration(cred) {
    var r = cred.response;
    var out = {
      id: cred.id,
      rawId: bufferToB64url(cred.rawId),
      type: cred.type,
      response: {
        attestationObject: bufferToB64url(r.attestationObject),
        clientDataJSON: bufferToB64url(r.clientDataJSON)
      },
      extensions: extensions(cred)
    };
    if (typeof r.getTransports === "function") out.response.transports = r.getTransports();
    return out;
  }

  function assertion(cred) {
    var r = cred.response;
    return {
      id: cred.id,
      rawId: bufferToB64url(cred.rawId),
      type: cred.type,
      response: {
        authenticatorData: bufferToB64url(r.authenticatorData),
        clientDataJSON: bufferToB64url(r.clientDataJSON),
        signature: bufferToB64url(r.signature),
        userHandle: r.userHandle ? bufferToB64url(r.userHandle) : null
      },
      extensions: extensions(cred)
    };
  }

  // Shows `text` in the box of `root`; `kind` is "error" or "ok".
  function say(root, text, kind) {
    var box = root.querySelector("[data-passkey-status]");
    if (!box) return;
    box.textContent = text;
    box.className = kind || "hint";
    box.hidden = !text;
  }

  // The page's sentence for a server error code, or its generic one.
  function failure(root, res) {
    var code = res && res.data && res.data.error;
    var text = code && root.getAttribute("data-error-" + code.replace(/_/g, "-"));
    return text || root.getAttribute("data-failed");
  }

  function supported() {
    return typeof window.PublicKeyCredential === "function" &&
      navigator.credentials && typeof navigator.credentials.create === "function";
  }

  function setUp(root, run) {
    var button = root.querySelector("[data-passkey-start]");
    if (!button) return;
    if (!supported()) {
      say(root, root.getAttribute("data-unsupported"), "error");
      button.disabled = true;
      root.hidden = false;
      return;
    }
    root.hidden = false;
    var form = button.form;
    var handler = function (event) {
      event.preventDefault();
      if (button.disabled) return;
      button.disabled = true;
      say(root, root.getAttribute("data-working"), "hint");
      run(root).then(function (message) {
        button.disabled = false;
        if (message) say(root, message.text, message.kind);
      }, function (err) {
        button.disabled = false;
        // The person closed the dialog or chose no passkey.
        var cancelled = err && (err.name === "NotAllowedError" || err.name === "AbortError");
        say(root, cancelled ? root.getAttribute("data-cancelled") : root.getAttribute("data-failed"), "error");
      });
    };
    if (form) form.addEventListener("submit", handler);
    else button.addEventListener("click", handler);
  }

  // A sign-in, or (data-api on the page) the re-confirmation of /reauth.
  function signIn(root) {
    var api = root.getAttribute("data-api") || BASE + "/api/auth/passkey/signin";
    return post(api + "/options").then(function (res) {
      if (!res.ok) return { text: failure(root, res), kind: "error" };
      return navigator.credentials.get(requestOptions(res.data)).then(function (cred) {
        return post(api + "/verify", {
          credential: assertion(cred),
          callbackUrl: root.getAttribute("data-callback") || "/"
        }).then(function (res) {
          if (!res.ok) return { text: failure(root, res), kind: "error" };
          window.location.assign(res.data.url || "/");
          return null;
        });
      });
    });
  }

  // A change that needs a recent sign-in: confirm it is you, then come back.
  function reauth(res) {
    if (res.status === 403 && res.data && res.data.error === "reauth_required") {
      window.location.assign(BASE + "/reauth?callbackUrl=" + encodeURIComponent(window.location.pathname));
      return true;
    }
    return false;
  }

  function register(root) {
    var input = root.querySelector("input[name=passkey_name]");
    return post(BASE + "/api/auth/passkey/register/options").then(function (res) {
      if (reauth(res)) return null;
      if (!res.ok) return { text: failure(root, res), kind: "error" };
      return navigator.credentials.create(creationOptions(res.data)).then(function (cred) {
        return post(BASE + "/api/auth/passkey/register/verify", {
          name: input ? input.value : "",
          credential: registration(cred)
        }).then(function (res) {
          if (reauth(res)) return null;
          if (!res.ok) return { text: failure(root, res), kind: "error" };
          // The list is the server's: show it as it is now.
          window.location.reload();
          return null;
        });
      });
    });
  }

  function start() {
    var signin = document.getElementById("passkey-signin");
    if (signin) setUp(signin, signIn);
    var again = document.getElementById("passkey-reauth");
    if (again) setUp(again, signIn);
    var add = document.getElementById("passkey-add");
    if (add) setUp(add, register);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
