/* webcare web chat widget. Plain JavaScript, no framework, no build step.
 * Embed:  <script src="https://WEBCARE/chat/widget.js" data-channel="ID" async></script>
 * Optional: data-lang="nl" (default: the browser's language), data-title="…".
 * Everything the visitor or an agent wrote is shown with textContent, inside
 * a shadow root, so neither markup in messages nor the page's CSS can break it.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var channel = script.getAttribute("data-channel") || "";
  if (!/^[0-9]+$/.test(channel)) {
    console.warn("webcare chat: data-channel must be the channel's number");
    return;
  }
  var base = new URL(".", script.src).href.replace(/\/$/, ""); // …/chat
  var api = base + "/" + channel;
  var storeKey = "webcare-chat:" + api;

  var STRINGS = {
    en: {
      open: "Open chat", close: "Close chat", title: "Chat with us", send: "Send",
      placeholder: "Write a message…", label: "Your message",
      sending: "Sending…", failed: "Not sent. Tap to try again.", you: "You", agent: "Support",
      offline: "No one is online right now. Leave your e-mail address and we will send our answer there as well.",
      offlineNoMail: "No one is online right now. Write your question: the answer appears here when you come back.",
      emailLabel: "Your e-mail address", save: "Save", saved: "Thank you, we will mail you the answer.",
      error: "Something went wrong. Please try again.", reconnecting: "Reconnecting…", files: "File: ",
      tooLong: "Your message is too long."
    },
    nl: {
      open: "Chat openen", close: "Chat sluiten", title: "Chat met ons", send: "Verstuur",
      placeholder: "Schrijf een bericht…", label: "Je bericht",
      sending: "Versturen…", failed: "Niet verstuurd. Tik om het opnieuw te proberen.", you: "Jij", agent: "Klantenservice",
      offline: "Er is nu niemand online. Laat je e-mailadres achter, dan sturen we ons antwoord ook daarheen.",
      offlineNoMail: "Er is nu niemand online. Stel je vraag: het antwoord verschijnt hier als je terugkomt.",
      emailLabel: "Je e-mailadres", save: "Opslaan", saved: "Dank je, we mailen je het antwoord.",
      error: "Er ging iets mis. Probeer het opnieuw.", reconnecting: "Opnieuw verbinden…", files: "Bestand: ",
      tooLong: "Je bericht is te lang."
    }
  };
  var lang = (script.getAttribute("data-lang") || navigator.language || "en").toLowerCase().slice(0, 2);
  var T = STRINGS[lang] || STRINGS.en;

  var CSS = [
    ":host{all:initial}",
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;font-size:15px;line-height:1.4}",
    ".launch{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:56px;height:56px;border-radius:50%;border:0;background:#1f5fbf;color:#fff;cursor:pointer;box-shadow:0 2px 10px rgba(0,0,0,.3);display:flex;align-items:center;justify-content:center}",
    ".launch:focus-visible,button:focus-visible,textarea:focus-visible,input:focus-visible{outline:3px solid #f5a623;outline-offset:2px}",
    ".badge{position:absolute;top:-2px;right:-2px;min-width:20px;height:20px;border-radius:10px;background:#c62828;color:#fff;font-size:12px;line-height:20px;padding:0 5px}",
    ".panel{position:fixed;right:20px;bottom:90px;z-index:2147483001;width:360px;max-width:calc(100vw - 24px);height:520px;max-height:calc(100vh - 110px);display:flex;flex-direction:column;background:#fff;color:#1a1a1a;border-radius:12px;box-shadow:0 4px 24px rgba(0,0,0,.3);overflow:hidden}",
    ".panel[hidden]{display:none}",
    "header{display:flex;align-items:center;justify-content:space-between;padding:12px 14px;background:#1f5fbf;color:#fff}",
    "h2{margin:0;font-size:16px;font-weight:600;color:#fff}",
    ".x{background:transparent;border:0;color:#fff;font-size:22px;cursor:pointer;width:32px;height:32px;border-radius:6px}",
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f6f7f9}",
    ".msg{max-width:80%;padding:8px 11px;border-radius:10px;white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word}",
    ".visitor{align-self:flex-end;background:#1f5fbf;color:#fff}",
    ".agent{align-self:flex-start;background:#fff;color:#1a1a1a;border:1px solid #dde1e6}",
    ".note{align-self:center;color:#555;font-size:13px;text-align:center}",
    ".state{display:block;font-size:12px;opacity:.85;margin-top:2px}",
    ".retry{cursor:pointer;text-decoration:underline}",
    ".offline{padding:10px 12px;background:#fff8e1;color:#3d3d3d;font-size:13px;border-top:1px solid #f0e0a0}",
    ".offline p{margin:0}",
    ".offline form{display:flex;gap:6px;margin-top:6px}",
    ".offline input{flex:1;padding:6px 8px;border:1px solid #bbb;border-radius:6px;color:#1a1a1a;background:#fff}",
    ".offline button,.send{padding:6px 12px;border:0;border-radius:6px;background:#1f5fbf;color:#fff;cursor:pointer}",
    ".compose{display:flex;gap:8px;padding:10px;border-top:1px solid #dde1e6;background:#fff}",
    "textarea{flex:1;resize:none;height:44px;padding:8px;border:1px solid #bbb;border-radius:8px;color:#1a1a1a;background:#fff}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}"
  ].join("\n");

  // --- storage: the visitor's id and token, on this site only ----------
  function load() {
    try { return JSON.parse(localStorage.getItem(storeKey) || "{}") || {}; } catch (e) { return {}; }
  }
  function save(s) {
    try { localStorage.setItem(storeKey, JSON.stringify(s)); } catch (e) { /* private mode: identity lasts this page */ }
  }
  var state = load();
  var session = null; // the server's answer to /session
  var lastID = 0;
  var shown = {}; // message id → element
  var pending = {}; // client id → element

  function randomID() {
    var b = new Uint8Array(12);
    crypto.getRandomValues(b);
    var s = "";
    for (var i = 0; i < b.length; i++) s += ("0" + b[i].toString(16)).slice(-2);
    return s;
  }

  function request(method, path, body) {
    var headers = {};
    if (state.token) headers.Authorization = "Bearer " + state.token;
    if (body) headers["Content-Type"] = "application/json";
    return fetch(api + path, {
      method: method, headers: headers, body: body ? JSON.stringify(body) : undefined,
      credentials: "omit", mode: "cors", cache: "no-store"
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) {
          var err = new Error(data.error || ("HTTP " + r.status));
          err.status = r.status;
          throw err;
        }
        return data;
      });
    });
  }

  // --- the DOM, in a shadow root ---------------------------------------
  // An element of its own name, so that the page's div rules miss it; its
  // inline !important reset beats the page's !important rules too (CSSOM,
  // which a page's style-src does not block).
  var host = document.createElement("webcare-chat");
  host.setAttribute("data-webcare-chat", channel);
  host.style.setProperty("all", "initial", "important");
  host.style.setProperty("display", "block", "important");
  host.style.setProperty("position", "fixed", "important");
  host.style.setProperty("width", "0", "important");
  host.style.setProperty("height", "0", "important");
  host.style.setProperty("z-index", "2147483000", "important");
  var root = host.attachShadow({ mode: "open" });
  if (root.adoptedStyleSheets !== undefined && typeof CSSStyleSheet === "function" && "replaceSync" in CSSStyleSheet.prototype) {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS); // not subject to the page's style-src
    root.adoptedStyleSheets = [sheet];
  } else {
    var style = document.createElement("style");
    style.textContent = CSS;
    root.appendChild(style);
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  var launch = el("button", "launch");
  launch.type = "button";
  launch.setAttribute("aria-label", T.open);
  launch.setAttribute("aria-expanded", "false");
  // A speech bubble drawn, not an emoji: not every system has the font.
  var svgNS = "http://www.w3.org/2000/svg";
  var icon = document.createElementNS(svgNS, "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("width", "28");
  icon.setAttribute("height", "28");
  icon.setAttribute("aria-hidden", "true");
  icon.setAttribute("focusable", "false");
  var path = document.createElementNS(svgNS, "path");
  path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
  path.setAttribute("fill", "currentColor");
  icon.appendChild(path);
  launch.appendChild(icon);
  var badge = el("span", "badge");
  badge.hidden = true;
  launch.appendChild(badge);

  var panel = el("div", "panel");
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", T.title);
  var header = el("header");
  var title = el("h2", null, script.getAttribute("data-title") || T.title);
  var closeBtn = el("button", "x", "\u00D7");
  closeBtn.type = "button";
  closeBtn.setAttribute("aria-label", T.close);
  header.appendChild(title);
  header.appendChild(closeBtn);

  var log = el("div", "log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.tabIndex = 0;

  var offline = el("div", "offline");
  offline.hidden = true;
  var offlineText = el("p", null, "");
  var mailForm = el("form");
  var mailLabel = el("label", "sr", T.emailLabel);
  var mailInput = el("input");
  mailInput.type = "email";
  mailInput.id = "webcare-chat-email";
  mailInput.autocomplete = "email";
  mailInput.maxLength = 254;
  mailLabel.htmlFor = mailInput.id;
  mailInput.setAttribute("aria-label", T.emailLabel);
  mailInput.placeholder = T.emailLabel;
  var mailSave = el("button", null, T.save);
  mailSave.type = "submit";
  mailForm.appendChild(mailLabel);
  mailForm.appendChild(mailInput);
  mailForm.appendChild(mailSave);
  offline.appendChild(offlineText);
  offline.appendChild(mailForm);

  var compose = el("form", "compose");
  var textLabel = el("label", "sr", T.label);
  var text = el("textarea");
  text.id = "webcare-chat-text";
  textLabel.htmlFor = text.id;
  text.placeholder = T.placeholder;
  text.setAttribute("aria-label", T.label);
  text.maxLength = 4000;
  var sendBtn = el("button", "send", T.send);
  sendBtn.type = "submit";
  compose.appendChild(textLabel);
  compose.appendChild(text);
  compose.appendChild(sendBtn);

  panel.appendChild(header);
  panel.appendChild(log);
  panel.appendChild(offline);
  panel.appendChild(compose);
  root.appendChild(panel);
  root.appendChild(launch);

  function attach() { (document.body || document.documentElement).appendChild(host); }
  if (document.body) attach(); else document.addEventListener("DOMContentLoaded", attach);

  // --- showing messages --------------------------------------------------
  var unread = 0;
  function scrollDown() { log.scrollTop = log.scrollHeight; }
  function note(t) { var n = el("div", "note", t); log.appendChild(n); scrollDown(); return n; }

  function show(m) {
    if (shown[m.id]) return;
    var e = m.client_id && pending[m.client_id];
    if (e) {
      delete pending[m.client_id];
      var st = e.querySelector(".state");
      if (st) st.remove();
    } else {
      e = el("div", "msg " + (m.from === "visitor" ? "visitor" : "agent"));
      e.appendChild(el("span", "sr", (m.from === "visitor" ? T.you : T.agent) + ": "));
      e.appendChild(document.createTextNode(m.text || ""));
      (m.files || []).forEach(function (f) { e.appendChild(el("span", "state", T.files + f)); });
      log.appendChild(e);
      if (m.from !== "visitor" && panel.hidden && m.id > (state.seen || 0)) {
        unread++;
        badge.textContent = String(unread);
        badge.hidden = false;
      }
    }
    e.setAttribute("data-id", String(m.id));
    shown[m.id] = e;
    if (m.id > lastID) lastID = m.id;
    if (!panel.hidden) markRead();
    scrollDown();
  }

  // What the visitor has seen with the panel open, so that only newer
  // answers count as unread after a reload.
  function markRead() {
    if (lastID > (state.seen || 0) && state.token) { state.seen = lastID; save(state); }
  }

  function showOffline(agentsOnline) {
    if (agentsOnline || !session) { offline.hidden = true; return; }
    offline.hidden = false;
    offlineText.textContent = session.mail ? T.offline : T.offlineNoMail;
    mailForm.hidden = !session.mail || !!session.email;
    if (session.mail && session.email) offlineText.textContent = T.saved;
  }

  // --- session, history, stream -----------------------------------------
  var starting = null;
  function start() {
    if (starting) return starting;
    var body = { page: location.href.slice(0, 2000), lang: lang };
    starting = request("POST", "/session", body).catch(function (err) {
      if (err.status === 401) { // the token no longer verifies: start afresh
        state = {};
        save(state);
        return request("POST", "/session", body);
      }
      throw err;
    }).then(function (s) {
      session = s;
      state = { visitor_id: s.visitor_id, token: s.token, seen: s.visitor_id === state.visitor_id ? state.seen : 0 };
      save(state);
      if (s.greeting && !log.querySelector(".greeting")) log.insertBefore(el("div", "msg agent greeting", s.greeting), log.firstChild);
      showOffline(s.agents_online);
      return request("GET", "/messages?after=" + lastID);
    }).then(function (h) {
      (h.messages || []).forEach(show);
      showOffline(h.agents_online);
      stream();
    }).catch(function (err) {
      starting = null;
      note(T.error);
      throw err;
    });
    return starting;
  }

  var streaming = false, stopped = false, backoff = 1000, banner = null;
  function stream() {
    if (streaming || !state.token || !window.ReadableStream || !window.TextDecoder) return;
    streaming = true;
    var headers = { Authorization: "Bearer " + state.token, Accept: "text/event-stream" };
    if (lastID) headers["Last-Event-ID"] = String(lastID);
    fetch(api + "/stream", { headers: headers, credentials: "omit", mode: "cors", cache: "no-store" }).then(function (r) {
      if (r.status === 401) { // the secret changed: forget the token; opening the chat starts afresh
        state = {};
        save(state);
        session = null;
        starting = null;
        stopped = true;
        return;
      }
      if (!r.ok || !r.body) throw new Error("stream " + r.status);
      backoff = 1000;
      if (banner) { banner.remove(); banner = null; }
      var reader = r.body.getReader(), dec = new TextDecoder(), buf = "";
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) return;
          buf += dec.decode(chunk.value, { stream: true }).replace(/\r\n?/g, "\n");
          var i;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            dispatch(buf.slice(0, i));
            buf = buf.slice(i + 2);
          }
          return pump();
        });
      }
      return pump();
    }).catch(function () { /* reconnect below */ }).then(function () {
      streaming = false;
      if (unloading || stopped) { stopped = false; return; }
      if (backoff > 4000 && !banner) banner = note(T.reconnecting);
      setTimeout(stream, backoff);
      backoff = Math.min(backoff * 2, 30000);
    });
  }
  function dispatch(block) {
    var ev = "message", data = "";
    block.split("\n").forEach(function (line) {
      if (line.indexOf("event:") === 0) ev = line.slice(6).trim();
      else if (line.indexOf("data:") === 0) data += line.slice(5).trim();
    });
    if (!data) return;
    var v;
    try { v = JSON.parse(data); } catch (e) { return; }
    if (ev === "message") show(v);
    else if (ev === "presence" && session) { session.agents_online = v.agents_online; showOffline(v.agents_online); }
  }
  var unloading = false;
  window.addEventListener("pagehide", function () { unloading = true; });

  // --- sending -----------------------------------------------------------
  function post(id, body, bubble, tries) {
    var st = bubble.querySelector(".state");
    st.textContent = T.sending;
    st.className = "state";
    st.onclick = null;
    request("POST", "/messages", { id: id, text: body, page: location.href.slice(0, 2000) }).then(function (res) {
      if (pending[id]) show({ id: res.message_id, client_id: id, from: "visitor", text: body });
    }).catch(function (err) {
      var temporary = !err.status || err.status >= 500 || err.status === 429;
      if (temporary && tries < 4) {
        setTimeout(function () { post(id, body, bubble, tries + 1); }, 1000 * Math.pow(2, tries)); // same id: stored once
        return;
      }
      st.textContent = err.status && err.status < 500 && err.message ? err.message : T.failed;
      st.className = "state retry";
      st.setAttribute("role", "button");
      st.tabIndex = 0;
      st.onclick = function () { post(id, body, bubble, 0); };
    });
  }

  compose.addEventListener("submit", function (e) {
    e.preventDefault();
    var body = text.value.trim();
    if (!body) return;
    if (body.length > 4000) { note(T.tooLong); return; }
    text.value = "";
    var id = randomID();
    var bubble = el("div", "msg visitor");
    bubble.appendChild(el("span", "sr", T.you + ": "));
    bubble.appendChild(document.createTextNode(body));
    bubble.appendChild(el("span", "state", T.sending));
    pending[id] = bubble;
    log.appendChild(bubble);
    scrollDown();
    start().then(function () { post(id, body, bubble, 0); }, function () {
      var st = bubble.querySelector(".state");
      st.textContent = T.failed;
    });
    text.focus();
  });
  text.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      compose.requestSubmit ? compose.requestSubmit() : compose.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  });
  mailForm.addEventListener("submit", function (e) {
    e.preventDefault();
    var v = mailInput.value.trim();
    if (!v) return;
    request("POST", "/profile", { email: v }).then(function (p) {
      session.email = p.email;
      showOffline(false);
    }).catch(function (err) {
      offlineText.textContent = err.status && err.status < 500 ? err.message : T.error;
    });
  });

  // --- open and close ----------------------------------------------------
  function open() {
    panel.hidden = false;
    launch.setAttribute("aria-expanded", "true");
    launch.setAttribute("aria-label", T.close);
    unread = 0;
    badge.hidden = true;
    markRead();
    text.focus();
    start().catch(function () {});
  }
  function close() {
    panel.hidden = true;
    launch.setAttribute("aria-expanded", "false");
    launch.setAttribute("aria-label", T.open);
    launch.focus();
  }
  launch.addEventListener("click", function () { if (panel.hidden) open(); else close(); });
  closeBtn.addEventListener("click", close);
  root.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && !panel.hidden) { e.stopPropagation(); close(); }
  });

  // A returning visitor gets replies that came while they were away.
  if (state.token) start().catch(function () {});
})();
