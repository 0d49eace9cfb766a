// webcare agent UI: live updates from the event stream, keyboard shortcuts,
// the composer (character count, templates, activity) and local times.
// Everything customer-written arrives as server-escaped HTML or is set with
// textContent here; this file never builds HTML from strings.
(function () {
  "use strict";

  var body = document.body;
  var i18n = body.dataset;

  function t(key, arg) {
    var s = i18n[key] || key;
    return arg === undefined ? s : s.replace("%s", arg).replace("%d", arg);
  }

  function openConversationID() {
    var c = document.getElementById("conversation");
    return c ? c.dataset.id : "";
  }

  // ---- notices -----------------------------------------------------------
  var toastTimer;
  function toast(text) {
    var el = document.getElementById("toast");
    if (!el) return;
    el.textContent = text;
    el.classList.add("show");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { el.classList.remove("show"); }, 6000);
  }
  document.addEventListener("htmx:responseError", function (e) {
    var xhr = e.detail.xhr;
    toast(xhr.responseText || (xhr.status + " " + xhr.statusText));
  });
  document.addEventListener("htmx:sendError", function () { toast(t("i18nOffline")); });

  // ---- local times -------------------------------------------------------
  var fmt = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
    dateStyle: "medium", timeStyle: "short"
  });
  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (!isNaN(d)) el.textContent = fmt.format(d);
    });
    root.querySelectorAll("input[data-tz]").forEach(function (el) {
      el.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    });
  }

  // ---- unread count in the tab title --------------------------------------
  var baseTitle = document.title;
  var unread = new Set();
  function showUnread() {
    document.title = (unread.size ? "(" + unread.size + ") " : "") + baseTitle;
    document.querySelectorAll(".row.unread").forEach(function (r) {
      if (!unread.has(r.dataset.id)) r.classList.remove("unread");
    });
    unread.forEach(function (id) {
      var row = document.getElementById("row-" + id);
      if (row) row.classList.add("unread");
    });
  }

  // ---- live events ---------------------------------------------------------
  var refreshTimer;
  // The list refreshes a quarter second after the first change and then at
  // most once a second: under a steady stream of events (a crisis) waiting
  // for a quiet moment would mean never refreshing.
  var lastRefresh = 0;
  function refreshList() {
    if (refreshTimer) return; // one is coming: it will show this change too
    var wait = Math.max(250, lastRefresh + 1000 - Date.now());
    refreshTimer = setTimeout(function () {
      refreshTimer = null;
      lastRefresh = Date.now();
      htmx.trigger(body, "wc:changed"); // the queue counts, the supervisor's board
      var list = document.querySelector(".list");
      // Refreshing rewinds to the first page; when the agent has scrolled
      // down, offer the refresh instead of yanking the list away.
      if (list && list.scrollTop > 200) {
        document.getElementById("fresh").hidden = false;
        return;
      }
      htmx.trigger(body, "wc:refresh");
    }, wait);
  }
  var activity = {}; // agent id → {name, state, at}
  function showActivity() {
    var el = document.getElementById("viewers");
    if (!el) return;
    var now = Date.now(), parts = [];
    Object.keys(activity).forEach(function (id) {
      var a = activity[id];
      if (now - a.at > 30000 || a.state === "left") { delete activity[id]; return; }
      parts.push(t(a.state === "typing" ? "i18nTyping" : "i18nViewing", a.name));
    });
    el.textContent = parts.join(" · ");
  }

  function connect() {
    if (!body.dataset.stream || typeof EventSource === "undefined") return;
    var es = new EventSource(body.dataset.stream);
    function on(type, fn) {
      es.addEventListener(type, function (e) {
        var ev;
        try { ev = JSON.parse(e.data); } catch (_) { return; }
        fn(ev);
      });
    }
    function changed(ev) {
      var open = openConversationID();
      if (open && String(ev.conversation_id) === open) {
        threadChangedAt = Date.now();
        htmx.trigger(body, "wc:thread");
      }
      refreshList();
    }
    on("message.received", function (ev) {
      if (String(ev.conversation_id) !== openConversationID() || document.hidden) {
        unread.add(String(ev.conversation_id));
      }
      changed(ev);
      showUnread();
    });
    on("message.created", function (ev) {
      changed(ev);
      // A colleague's note that mentions this agent.
      var d;
      try { d = ev.detail ? JSON.parse(ev.detail) : null; } catch (_) { d = null; }
      if (d && d.mentions && d.mentions.map(String).indexOf(body.dataset.me) >= 0 && String(ev.agent_id) !== body.dataset.me) {
        toast(t("i18nMentioned", d.by));
        if (String(ev.conversation_id) !== openConversationID() || document.hidden) {
          unread.add(String(ev.conversation_id));
          showUnread();
        }
      }
    });
    ["conversation.updated", "reply.delivered", "reply.failed", "reply.retrying"].forEach(function (type) {
      on(type, changed);
    });
    on("reset", refreshList);
    on("agent.activity", function (ev) {
      if (String(ev.agent_id) === body.dataset.me || String(ev.conversation_id) !== openConversationID()) return;
      var d;
      try { d = JSON.parse(ev.detail); } catch (_) { return; }
      activity[ev.agent_id] = { name: d.name, state: d.state, at: Date.now() };
      showActivity();
    });
    var caughtUp = false;
    es.onopen = function () {
      body.classList.remove("offline");
      // Events between rendering this page and the stream's start were sent
      // to nobody (a reconnect gets them through Last-Event-ID): catch up once.
      if (caughtUp) return;
      caughtUp = true;
      if (openConversationID()) htmx.trigger(body, "wc:thread");
      refreshList();
    };
    es.onerror = function () { body.classList.add("offline"); };
  }

  // ---- telling colleagues what we do ----------------------------------------
  var lastTyping = 0, viewTimer;
  function tellActivity(state) {
    var id = openConversationID();
    if (!id) return;
    // URL-encoded, not FormData: the server reads plain forms, and a
    // multipart body arrives as an empty form (422).
    var data = new URLSearchParams({ state: state });
    fetch("/conversations/" + id + "/activity", { method: "POST", body: data, credentials: "same-origin" }).catch(function () {});
  }
  function startViewing() {
    clearInterval(viewTimer);
    activity = {};
    showActivity();
    if (!openConversationID() || !document.getElementById("composer")) return;
    tellActivity("viewing");
    viewTimer = setInterval(function () { tellActivity("viewing"); showActivity(); }, 15000);
  }

  // ---- the composer --------------------------------------------------------
  function composer() { return document.getElementById("composer"); }

  function updateCounter() {
    var form = composer();
    if (!form) return;
    var limit = parseInt(form.dataset.limit, 10) || 0;
    var counter = document.getElementById("counter");
    var text = form.querySelector("textarea").value;
    var mode = form.querySelector("input[name=kind]:checked");
    if (!limit || !counter || (mode && mode.value === "note")) { if (counter) counter.hidden = true; return; }
    var n = form.dataset.count === "x" ? xLength(text) : Array.from(text).length;
    counter.hidden = false;
    counter.textContent = n > limit ? t("i18nToolong", n - limit) : t("i18nLeft", limit - n);
    counter.classList.toggle("over", n > limit);
    document.getElementById("send").disabled = n > limit;
  }

  // xLength counts a post the way X does (twitter-text v3): most Latin,
  // Greek and Cyrillic characters and common punctuation weigh 1, other
  // characters (CJK, emoji) 2, an emoji sequence counts once, a link 23.
  // The server checks the same rule (channel/x.Weight).
  var pictographic = /\p{Extended_Pictographic}/u;
  function xLength(text) {
    var n = 0;
    text = text.normalize("NFC").replace(/https?:\/\/[^\s]+/g, function () { n += 23; return ""; });
    var parts = typeof Intl !== "undefined" && Intl.Segmenter
      ? Array.from(new Intl.Segmenter().segment(text), function (s) { return s.segment; })
      : Array.from(text);
    parts.forEach(function (g) {
      if (pictographic.test(g)) { n += 2; return; }
      Array.from(g).forEach(function (ch) {
        var c = ch.codePointAt(0);
        n += (c <= 4351 || (c >= 8192 && c <= 8205) || (c >= 8208 && c <= 8223) || (c >= 8242 && c <= 8247)) ? 1 : 2;
      });
    });
    return n;
  }

  function templateList() { return document.getElementById("template-list"); }

  // The word being typed, if it starts with "/": a template shortcut.
  function slashWord(area) {
    var upto = area.value.slice(0, area.selectionStart);
    var m = /(^|\s)\/([\w-]*)$/.exec(upto);
    return m ? { query: m[2].toLowerCase(), start: upto.length - m[2].length - 1 } : null;
  }

  function filterTemplates(area) {
    var list = templateList();
    if (!list) return;
    var w = slashWord(area);
    if (!w) { list.hidden = true; return; }
    var shown = 0;
    list.querySelectorAll("li").forEach(function (li) {
      var match = li.dataset.shortcut.toLowerCase().indexOf(w.query) === 0 ||
        li.textContent.toLowerCase().indexOf(w.query) >= 0;
      li.hidden = !match;
      li.classList.remove("active");
      if (match) shown++;
    });
    var first = list.querySelector("li:not([hidden])");
    if (first) first.classList.add("active");
    list.hidden = shown === 0;
  }

  function useTemplate(li) {
    var area = document.getElementById("body");
    var w = slashWord(area);
    var start = w ? w.start : area.selectionStart;
    area.value = area.value.slice(0, start) + li.dataset.body + area.value.slice(area.selectionStart);
    templateList().hidden = true;
    area.focus();
    area.selectionStart = area.selectionEnd = start + li.dataset.body.length;
    updateCounter();
  }

  function moveTemplate(step) {
    var items = Array.from(templateList().querySelectorAll("li:not([hidden])"));
    var i = items.findIndex(function (li) { return li.classList.contains("active"); });
    if (i >= 0) items[i].classList.remove("active");
    var next = items[(i + step + items.length) % items.length];
    if (next) { next.classList.add("active"); next.scrollIntoView({ block: "nearest" }); }
  }

  document.addEventListener("input", function (e) {
    if (e.target.id !== "body") return;
    updateCounter();
    filterTemplates(e.target);
    var now = Date.now();
    if (now - lastTyping > 3000) { lastTyping = now; tellActivity("typing"); }
  });
  document.addEventListener("change", function (e) {
    if (e.target.name === "kind") updateCounter();
    if (e.target.id === "files") {
      var chosen = document.getElementById("files-chosen");
      if (chosen) chosen.textContent = Array.from(e.target.files).map(function (f) { return f.name; }).join(", ");
    }
  });
  document.addEventListener("click", function (e) {
    var li = e.target.closest && e.target.closest("#template-list li");
    if (li) { useTemplate(li); return; }
    var copy = e.target.closest && e.target.closest("[data-copy]");
    if (copy) { copyField(copy); return; }
    if (e.target.closest && e.target.closest("[data-shortcuts]")) { document.getElementById("shortcuts").showModal(); return; }
    if (e.target.closest && e.target.closest("#fresh button")) {
      document.getElementById("fresh").hidden = true;
      document.querySelector(".list").scrollTop = 0;
      htmx.trigger(body, "wc:refresh");
    }
  });

  // ---- copy buttons (invite links, channel tokens) ----------------------------
  function copyField(button) {
    var field = document.getElementById(button.dataset.copy);
    if (!field) return;
    field.select();
    var done = function () { toast(button.dataset.copied || ""); };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  }

  // ---- keyboard --------------------------------------------------------------
  function typingInField(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  function selectRow(step) {
    var rows = Array.from(document.querySelectorAll("#rows .row"));
    if (!rows.length) return;
    var open = openConversationID();
    var i = rows.findIndex(function (r) { return r.dataset.id === open; });
    var next = rows[Math.min(Math.max(i + step, 0), rows.length - 1)];
    if (i < 0) next = rows[0];
    next.querySelector("a").click();
    next.scrollIntoView({ block: "nearest" });
  }

  function focusComposer(mode) {
    var form = composer();
    if (!form) return;
    var radio = form.querySelector("input[name=kind][value=" + mode + "]");
    if (radio) { radio.checked = true; }
    updateCounter();
    form.querySelector("textarea").focus();
  }

  document.addEventListener("keydown", function (e) {
    var target = e.target;
    if (target.id === "body") {
      var list = templateList();
      if (list && !list.hidden) {
        if (e.key === "ArrowDown" || e.key === "ArrowUp") { e.preventDefault(); moveTemplate(e.key === "ArrowDown" ? 1 : -1); return; }
        if (e.key === "Enter" || e.key === "Tab") {
          var active = list.querySelector("li.active:not([hidden])");
          if (active) { e.preventDefault(); useTemplate(active); return; }
        }
        if (e.key === "Escape") { list.hidden = true; e.preventDefault(); return; }
      }
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        composer().requestSubmit();
        return;
      }
    }
    if (e.key === "Escape" && typingInField(target)) { target.blur(); return; }
    if (e.ctrlKey || e.metaKey || e.altKey || typingInField(target)) return;
    if (document.querySelector("dialog[open]") && e.key !== "?") return;
    var click = function (sel) { var el = document.querySelector(sel); if (el) { el.click(); } };
    switch (e.key) {
      case "j": selectRow(1); break;
      case "k": selectRow(-1); break;
      case "r": e.preventDefault(); focusComposer("reply"); break;
      case "n": e.preventDefault(); focusComposer("note"); break;
      case "a": click("#conversation [data-key=a]"); break;
      case "e": click("#conversation [data-key=e]"); break;
      case "/": {
        var s = document.getElementById("search");
        if (s) { e.preventDefault(); s.focus(); s.select(); }
        break;
      }
      case "?": {
        var d = document.getElementById("shortcuts");
        if (d.open) d.close(); else d.showModal();
        break;
      }
      default: return;
    }
  });

  // ---- supervisor: drag conversations onto agents ------------------------------
  document.addEventListener("dragstart", function (e) {
    var row = e.target.closest && e.target.closest("tr[data-conversation]");
    if (!row) return;
    var ids = [row.dataset.conversation];
    var box = row.querySelector("input[type=checkbox]");
    if (box && box.checked) {
      // Dragging a ticked row moves every ticked row.
      ids = Array.from(document.querySelectorAll("#bulk input[name=conversation_ids]:checked")).map(function (b) { return b.value; });
    }
    e.dataTransfer.setData("text/plain", ids.join(","));
    e.dataTransfer.effectAllowed = "move";
  });
  document.addEventListener("dragover", function (e) {
    var drop = e.target.closest && e.target.closest(".agent-drop");
    if (!drop) return;
    e.preventDefault();
    drop.classList.add("over");
  });
  document.addEventListener("dragleave", function (e) {
    var drop = e.target.closest && e.target.closest(".agent-drop");
    if (drop) drop.classList.remove("over");
  });
  document.addEventListener("drop", function (e) {
    var drop = e.target.closest && e.target.closest(".agent-drop");
    if (!drop) return;
    e.preventDefault();
    drop.classList.remove("over");
    var ids = (e.dataTransfer.getData("text/plain") || "").split(",").filter(function (id) { return /^\d+$/.test(id); });
    if (!ids.length) return;
    htmx.ajax("POST", "/supervisor/assign", {
      target: "#board", swap: "innerHTML",
      values: { conversation_ids: ids, assignee: drop.dataset.assignee }
    });
  });

  // ---- after every swap --------------------------------------------------------
  function markOpenRow() {
    var open = openConversationID();
    document.querySelectorAll("#rows .row").forEach(function (r) {
      r.classList.toggle("current", r.dataset.id === open);
    });
    if (open) { unread.delete(open); showUnread(); }
    var c = document.getElementById("conversation");
    baseTitle = (c && c.dataset.title ? c.dataset.title + " · " : "") + "webcare";
    showUnread();
  }

  // A fast platform confirms a reply before the composer's own answer
  // arrives, and that answer, rendered earlier, would show "sending…" for
  // good: a change to the open thread during a request for the pane
  // refreshes the thread once more after the swap.
  var detailRequestAt = 0, threadChangedAt = 0;
  document.addEventListener("htmx:beforeRequest", function (e) {
    if (e.detail.target && e.detail.target.id === "detail") detailRequestAt = Date.now();
  });

  var lastOpen = "";
  document.addEventListener("htmx:afterSettle", function (e) {
    if (e.detail.elt && e.detail.elt.id === "detail" && detailRequestAt) {
      if (threadChangedAt >= detailRequestAt) htmx.trigger(body, "wc:thread");
      detailRequestAt = 0;
    }
    localTimes(e.detail.elt || document);
    markOpenRow();
    updateCounter();
    var open = openConversationID();
    if (open !== lastOpen) {
      if (lastOpen) { var prev = lastOpen; lastOpen = open; fetchLeft(prev); }
      lastOpen = open;
      startViewing();
    }
    var thread = document.getElementById("thread");
    if (thread && e.detail.elt && (e.detail.elt.id === "thread" || e.detail.elt.id === "detail")) {
      thread.lastElementChild && thread.lastElementChild.scrollIntoView({ block: "end" });
    }
  });
  function fetchLeft(id) {
    var data = new URLSearchParams({ state: "left" });
    fetch("/conversations/" + id + "/activity", { method: "POST", body: data, credentials: "same-origin" }).catch(function () {});
  }
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { var open = openConversationID(); if (open) { unread.delete(open); showUnread(); } }
  });

  localTimes(document);
  markOpenRow();
  updateCounter();
  lastOpen = openConversationID();
  startViewing();
  var thread = document.getElementById("thread");
  if (thread && thread.lastElementChild) thread.lastElementChild.scrollIntoView({ block: "end" });
  connect();
})();
