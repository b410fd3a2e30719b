// The sandbox page: play members, watch the bot. Vanilla JS, no external assets.
// Strings come from the server's table (#i18n); nothing user-visible is written here.
(function () {
  "use strict";
  var T = JSON.parse(document.getElementById("i18n").textContent);
  var boot = JSON.parse(document.getElementById("boot").textContent);
  var $ = function (id) { return document.getElementById(id); };
  var API = "/api/v1/sandbox/groups";
  var STORE = "qunzhu.sandbox.players." + boot.lang;

  var state = {
    group: boot.group,
    instance: boot.instance,
    lastSeq: 0,
    members: {},   // id -> {member, status, muted_until}
    names: {},     // id -> display name
    players: [],   // [{id, name}]
    speaking: null,
    source: null,
    offlineTimer: null
  };

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : all;
    });
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function randomId() {
    return "p" + Math.random().toString(36).slice(2, 10);
  }

  // ----- players (kept in this browser) --------------------------------------------------
  function loadPlayers() {
    try { state.players = JSON.parse(localStorage.getItem(STORE) || "[]"); } catch (e) { state.players = []; }
    if (!Array.isArray(state.players) || state.players.length === 0) {
      state.players = T.default_players.map(function (name) { return { id: randomId(), name: name }; });
    }
    state.speaking = localStorage.getItem(STORE + ".speaking") || state.players[0].id;
    if (!state.players.some(function (p) { return p.id === state.speaking; })) state.speaking = state.players[0].id;
    savePlayers();
  }

  function savePlayers() {
    try {
      localStorage.setItem(STORE, JSON.stringify(state.players));
      localStorage.setItem(STORE + ".speaking", state.speaking);
    } catch (e) { /* private mode: players last for this visit */ }
  }

  function speaker() {
    for (var i = 0; i < state.players.length; i++) if (state.players[i].id === state.speaking) return state.players[i];
    return state.players[0];
  }

  function renderPlayers() {
    var box = $("players");
    box.textContent = "";
    state.players.forEach(function (p) {
      state.names[p.id] = p.name;
      var chip = el("button", "chip" + (p.id === state.speaking ? " on" : ""), p.name);
      chip.type = "button";
      chip.setAttribute("aria-pressed", p.id === state.speaking ? "true" : "false");
      var m = state.members[p.id];
      var label = null;
      if (m) {
        if (m.muted_until && new Date(m.muted_until) > new Date()) label = T.status_muted;
        else label = T["status_" + m.status];
      }
      if (label) chip.appendChild(el("small", null, label));
      chip.addEventListener("click", function () { state.speaking = p.id; savePlayers(); renderPlayers(); });
      box.appendChild(chip);
    });
  }

  // ----- status line ------------------------------------------------------------------------
  var statusTimer = null;
  function showStatus(text, isError) {
    var s = $("status");
    s.textContent = text;
    s.style.color = isError ? "" : "var(--muted)";
    s.hidden = false;
    clearTimeout(statusTimer);
    statusTimer = setTimeout(function () { s.hidden = true; }, isError ? 6000 : 4000);
  }

  // ----- API ------------------------------------------------------------------------------
  function api(method, path, body) {
    var init = { method: method, headers: { "Accept": "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var err = (data && data.error) || { code: "other", message: response.statusText };
          throw err;
        }
        return data;
      });
    });
  }

  function errorText(err) {
    var known = err && T.errors[err.code];
    return known ? known + (err.code === "invalid_input" && err.message ? "：" + err.message : "") : (T.errors.other + (err && err.message ? "：" + err.message : ""));
  }

  // ----- transcript rendering -----------------------------------------------------------
  function nameOf(id, fallback) {
    return state.names[id] || fallback || id;
  }

  function learn(member) {
    if (member && member.id) state.names[member.id] = member.name || member.id;
  }

  function segmentsNode(segments) {
    var frag = document.createDocumentFragment();
    (segments || []).forEach(function (s) {
      switch (s.type) {
        case "text": frag.appendChild(document.createTextNode(s.text)); break;
        case "mention": frag.appendChild(el("span", "mention", "@" + (s.name || nameOf(s.member)))); break;
        case "mention_all": frag.appendChild(el("span", "mention", "@all")); break;
        case "link":
          var a = el("a", null, s.url);
          if (/^https?:\/\//i.test(s.url)) { a.href = s.url; a.target = "_blank"; a.rel = "noopener noreferrer"; }
          frag.appendChild(a);
          break;
        case "image": frag.appendChild(document.createTextNode("[image]")); break;
        case "card": frag.appendChild(document.createTextNode("[" + s.kind + "] " + (s.title || ""))); break;
        case "file": frag.appendChild(document.createTextNode("[file] " + s.name)); break;
        case "reply": break;
        default: frag.appendChild(document.createTextNode("[" + (s.kind || s.type) + "]"));
      }
    });
    return frag;
  }

  function whyNode(action) {
    var why = el("div", "why");
    why.appendChild(el("b", null, T.why + "："));
    why.appendChild(document.createTextNode(action.explanation || ""));
    why.appendChild(el("span", "tag", T.rule + " " + action.rule));
    return why;
  }

  function duration(secs) {
    if (secs % 86400 === 0) return fill(T.days, { n: secs / 86400 });
    if (secs % 3600 === 0) return fill(T.hours, { n: secs / 3600 });
    if (secs % 60 === 0) return fill(T.minutes, { n: secs / 60 });
    return fill(T.seconds, { n: secs });
  }

  function plain(segments) {
    return (segments || []).map(function (s) {
      return s.type === "text" ? s.text : s.type === "mention" ? "@" + (s.name || nameOf(s.member)) : "";
    }).join("");
  }

  function markDeleted(messageId) {
    var nodes = document.querySelectorAll("[data-mid]");
    for (var i = 0; i < nodes.length; i++) {
      if (nodes[i].getAttribute("data-mid") === messageId && !nodes[i].classList.contains("deleted")) {
        nodes[i].classList.add("deleted");
        nodes[i].appendChild(el("span", "tag", T.deleted));
      }
    }
  }

  function systemLine(text, cls) {
    return el("div", "system" + (cls ? " " + cls : ""), text);
  }

  function renderEntry(entry) {
    var node;
    switch (entry.type) {
      case "message": {
        learn(entry.author);
        node = el("div", "row member");
        node.appendChild(el("div", "who", entry.author.name || entry.author.id));
        var bubble = el("div", "bubble");
        bubble.setAttribute("data-mid", entry.message_id);
        bubble.appendChild(segmentsNode(entry.segments));
        node.appendChild(bubble);
        if (entry.deleted) { bubble.classList.add("deleted"); bubble.appendChild(el("span", "tag", T.deleted)); }
        break;
      }
      case "member_joined":
        learn(entry.member);
        node = systemLine(fill(T.joined, { name: entry.member.name || entry.member.id }));
        break;
      case "member_left":
        learn(entry.member);
        node = systemLine(fill(entry.removed ? T.removed : T.left, { name: entry.member.name || entry.member.id }));
        break;
      case "join_requested":
        learn(entry.member);
        node = systemLine(fill(T.requested, { name: entry.member.name || entry.member.id }) + (entry.comment ? "：" + entry.comment : ""));
        break;
      case "bot":
        node = renderBot(entry);
        break;
      case "staff_task": {
        var task = entry.task;
        node = el("div", "task");
        node.appendChild(el("h3", null, "📋 " + T.staff_task + "：" + task.title));
        var step = el("p", "step");
        step.appendChild(el("b", null, T.manual_step + "："));
        step.appendChild(document.createTextNode(task.step));
        node.appendChild(step);
        node.appendChild(whyNode(task.action));
        break;
      }
      default:
        return null;
    }
    node.setAttribute("data-seq", entry.seq);
    return node;
  }

  function renderBot(entry) {
    var action = entry.action;
    var kind = action.kind;
    var who = function (id) { return nameOf(id); };
    if (kind.type === "send" || kind.type === "reply") {
      var node = el("div", "row bot");
      node.appendChild(el("div", "who", "🤖 " + T.bot_name));
      var bubble = el("div", "bubble");
      if (entry.message_id) bubble.setAttribute("data-mid", entry.message_id);
      if (kind.type === "reply") {
        var target = document.querySelector('[data-mid="' + CSS.escape(kind.to) + '"]');
        bubble.appendChild(el("div", "reply-to", T.reply_to + " " + (target ? target.textContent.slice(0, 40) : kind.to)));
      }
      bubble.appendChild(segmentsNode(kind.segments));
      if (entry.deleted) { bubble.classList.add("deleted"); }
      node.appendChild(bubble);
      node.appendChild(whyNode(action));
      return node;
    }
    var text;
    switch (kind.type) {
      case "delete": text = T.bot_delete; markDeleted(kind.message_id); break;
      case "mute": text = kind.duration_secs > 0 ? fill(T.bot_mute, { name: who(kind.member), duration: duration(kind.duration_secs) }) : fill(T.bot_unmute, { name: who(kind.member) }); break;
      case "kick": text = fill(T.bot_kick, { name: who(kind.member) }); break;
      case "ban": text = fill(T.bot_ban, { name: who(kind.member) }); break;
      case "unmute": text = fill(T.bot_unmute, { name: who(kind.member) }); break;
      case "unban": text = fill(T.bot_unban, { name: who(kind.member) }); break;
      case "approve_join": text = fill(T.bot_approve, { name: who(kind.member) }); break;
      case "reject_join": text = fill(T.bot_reject, { name: who(kind.member), reason: kind.reason }); break;
      case "set_announcement": text = fill(T.bot_announcement, { text: kind.text }); break;
      case "direct_message": text = fill(T.bot_direct, { name: who(kind.member), text: plain(kind.segments) }); break;
      case "notify_staff": text = fill(T.bot_notify_staff, { text: kind.text }); break;
      default: text = kind.type;
    }
    var line = systemLine("🤖 " + T.bot_name + " " + text, "botline wrap");
    line.appendChild(whyNode(action));
    return line;
  }

  function append(entry) {
    if (entry.seq <= state.lastSeq) return;
    state.lastSeq = entry.seq;
    var main = $("transcript");
    var empty = main.querySelector(".empty");
    if (empty) empty.remove();
    var node = renderEntry(entry);
    if (node) main.appendChild(node);
    $("hint").hidden = true;
    trackMembers(entry);
    main.scrollTop = main.scrollHeight;
    window.scrollTo(0, document.body.scrollHeight);
  }

  // Keeps the chips' status badges current between full reloads.
  function trackMembers(entry) {
    var set = function (member, status) {
      var m = state.members[member.id] || { member: member };
      m.status = status;
      state.members[member.id] = m;
    };
    if (entry.type === "member_joined") set(entry.member, "joined");
    else if (entry.type === "member_left") set(entry.member, "out");
    else if (entry.type === "join_requested") set(entry.member, "requested");
    else if (entry.type === "message") set(entry.author, "joined");
    else if (entry.type === "bot") {
      var k = entry.action.kind;
      var m = k.member && (state.members[k.member] || { member: { id: k.member } });
      if (k.type === "mute" && m) { m.muted_until = new Date(Date.now() + k.duration_secs * 1000).toISOString(); state.members[k.member] = m; }
      if (k.type === "ban" && m) { m.status = "banned"; state.members[k.member] = m; }
      if (k.type === "reject_join" && m) { m.status = "out"; state.members[k.member] = m; }
    }
    renderPlayers();
  }

  // ----- loading and live updates --------------------------------------------------------
  function groupPath() {
    return API + "/" + encodeURIComponent(state.group);
  }

  function load() {
    stopStream();
    return api("GET", groupPath() + "/transcript").then(function (data) {
      state.instance = data.instance;
      state.lastSeq = 0;
      state.members = {};
      (data.members || []).forEach(function (m) { state.members[m.member.id] = m; learn(m.member); });
      var main = $("transcript");
      main.textContent = "";
      if (!data.entries.length) {
        main.appendChild(el("p", "empty", T.empty));
        $("hint").hidden = false;
      }
      data.entries.forEach(append);
      renderPlayers();
      startStream();
    }).catch(function (err) { showStatus(errorText(err), true); });
  }

  function stopStream() {
    if (state.source) { state.source.close(); state.source = null; }
  }

  function startStream() {
    stopStream();
    if (!window.EventSource) { return poll(); }
    var source = new EventSource(groupPath() + "/stream?after=" + state.lastSeq);
    state.source = source;
    source.addEventListener("entry", function (event) {
      var run = (event.lastEventId || "").split(":")[0];
      if (run && run !== state.instance) { showStatus(T.restarted, true); load(); return; }
      append(JSON.parse(event.data));
    });
    // Each answer ends the response and the browser reconnects; only a long gap is "offline".
    source.addEventListener("open", function () {
      clearTimeout(state.offlineTimer); state.offlineTimer = null;
    });
    source.addEventListener("error", function () {
      if (!state.offlineTimer) state.offlineTimer = setTimeout(function () { showStatus(T.offline, true); }, 5000);
      if (source.readyState === EventSource.CLOSED && state.source === source) {
        setTimeout(function () { if (state.source === source) startStream(); }, 2000);
      }
    });
  }

  // Fallback for browsers without EventSource: long polling.
  function poll() {
    var group = state.group;
    api("GET", groupPath() + "/transcript?wait=25&after=" + state.lastSeq).then(function (data) {
      if (group !== state.group) return;
      if (data.instance !== state.instance) { load(); return; }
      data.entries.forEach(append);
      poll();
    }).catch(function () { setTimeout(poll, 3000); });
  }

  // ----- what the operator does ---------------------------------------------------------
  function post(type, extra) {
    var p = speaker();
    var body = { type: type, member: { id: p.id, name: p.name } };
    for (var k in extra) body[k] = extra[k];
    return api("POST", groupPath() + "/events", body).then(function (data) {
      var parts = data.actions.map(function (a) { return a.kind.type; }).concat(data.tasks.map(function () { return T.staff_task; }));
      showStatus(parts.length ? fill(T.decided, { list: parts.join("、") }) + (data.actions.length ? " · " + T.waiting : "") : T.decided_nothing, false);
      return data;
    }).catch(function (err) { showStatus(errorText(err), true); throw err; });
  }

  $("act-join").addEventListener("click", function () { post("join", {}).catch(function () {}); });
  $("act-leave").addEventListener("click", function () { post("leave", {}).catch(function () {}); });
  $("act-request").addEventListener("click", function () {
    var comment = $("request-comment").value.trim();
    post("join_request", comment ? { comment: comment } : {}).then(function () { $("request-comment").value = ""; }).catch(function () {});
  });
  $("say").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = $("message");
    var text = input.value;
    if (!text.trim()) return;
    post("message", { text: text }).then(function () { input.value = ""; }).catch(function () {});
  });
  $("add-player").addEventListener("submit", function (event) {
    event.preventDefault();
    var name = $("player-name").value.trim();
    if (!name) return;
    var p = { id: randomId(), name: name };
    state.players.push(p);
    state.speaking = p.id;
    $("player-name").value = "";
    savePlayers();
    renderPlayers();
  });
  $("group").addEventListener("change", function (event) {
    state.group = event.target.value;
    var url = new URL(window.location.href);
    url.searchParams.set("group", state.group);
    history.replaceState(null, "", url);
    load();
  });
  $("new-group").addEventListener("click", function () {
    var name = window.prompt(T.new_group_prompt, T.new_group_default);
    if (!name || !name.trim()) return;
    api("POST", API, { name: name.trim() }).then(function (group) {
      var option = el("option", null, group.name);
      option.value = group.id;
      $("group").appendChild(option);
      $("group").value = group.id;
      $("group").dispatchEvent(new Event("change"));
    }).catch(function (err) { showStatus(errorText(err), true); });
  });

  loadPlayers();
  renderPlayers();
  load();
})();
