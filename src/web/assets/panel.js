// The agent panel: listens to the CTI event stream (limited by the server
// to this agent), shows the screen pop when the phone rings, call controls
// while talking and the wrap-up form afterwards; web chats the same way:
// the offer with Accept / Decline, the conversation, End, then wrap-up.
// During a call: consult (attended transfer: complete or cancel), add a
// party (three-way), with the buttons each step allows. No event tells the
// panel when a consulted or added party answers or leaves, so that state is
// what the API last accepted; a refusal saying none is left resets it.
// The callback list is an htmx fragment of its own. Every caller-supplied
// value is put into the page as text (textContent), never as HTML; the
// history fragment comes from our own server, escaped there.
(function () {
  "use strict";
  var panel = document.getElementById("panel");
  if (!panel) return;
  var agent = panel.getAttribute("data-agent");
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.content : "";
  var current = null;
  // The web chat on screen: { id, state: offered | connected | ended }.
  var chat = null;
  // What the wrap-up form saves: "call" (current) or "chat" (chat.id).
  var wrapFor = "call";

  function $(id) { return document.getElementById(id); }
  function enc(s) { return encodeURIComponent(s); }
  function status(t) { $("panel-status").textContent = t; }

  function post(url) {
    return fetch(url, { method: "POST", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" }).then(function (r) {
      if (r.ok) return r;
      return r.json().then(function (j) { throw new Error(j.error || ("HTTP " + r.status)); },
                           function () { throw new Error("HTTP " + r.status); });
    });
  }

  function postJson(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      if (r.ok) return r;
      return r.json().then(function (j) { throw new Error(j.error || ("HTTP " + r.status)); },
                           function () { throw new Error("HTTP " + r.status); });
    });
  }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function table(rows, id) {
    var t = el("table"); if (id) t.id = id;
    var b = el("tbody");
    rows.forEach(function (r) {
      var tr = el("tr");
      tr.appendChild(el("th", r[0]));
      var td = el("td", r[1]);
      td.setAttribute("data-field", r[0]);
      tr.appendChild(td);
      b.appendChild(tr);
    });
    t.appendChild(b);
    return t;
  }

  function showPop(call) {
    current = call.call_id;
    $("pop").hidden = false;
    $("call-card").hidden = false;
    $("wrapup").hidden = true;
    $("call-controls").hidden = true;
    var s = $("call-summary");
    s.replaceChildren(el("div", "Ringing", "badge warn"), table([
      ["Caller", (call.caller || "") + (call.caller_name ? " (" + call.caller_name + ")" : "")],
      ["Dialled", call.did || ""],
      ["Queue", call.queue || ""],
      ["IVR path", call.ivr_path || ""]
    ], "call-info"));
    showCustomer(call.customer, call.caller, "");
  }

  function showCustomer(cust, number, chatId) {
    $("pop").hidden = false;
    var c = $("customer");
    if (cust && Object.keys(cust).length) {
      var first = ["name", "account", "phone", "tags", "notes"];
      var rows = [];
      first.forEach(function (k) { if (cust[k]) rows.push([k, cust[k]]); });
      Object.keys(cust).sort().forEach(function (k) { if (first.indexOf(k) < 0 && cust[k] !== "") rows.push([k, cust[k]]); });
      c.replaceChildren(table(rows, "customer-record"));
    } else {
      c.replaceChildren(el("p", "Unknown caller: no customer record for " + (number || "this number") + ".", "muted"));
    }
    $("history").replaceChildren(el("p", "Loading…", "muted"));
    fetch("/agent/history?number=" + enc(number || "") + (chatId ? "&chat=" + enc(chatId) : ""), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) { $("history").innerHTML = html; })
      .catch(function () { $("history").replaceChildren(el("p", "History unavailable.", "muted")); });
  }

  function setBadge(text, cls) {
    var b = $("call-summary").querySelector(".badge");
    if (b) { b.textContent = text; b.className = "badge " + cls; }
  }

  // ---- consultation and three-way ----
  // mode: "talking" (agent and caller), "consulting" (the caller hears
  // music, the agent talks to or rings `target`), "conference" (three-way,
  // or the added party still ringing).
  var party = { mode: "talking", target: "" };
  var partyLabels = {
    talking: { complete: "Complete transfer", cancel: "Cancel (back to caller)" },
    consulting: { complete: "Complete transfer", cancel: "Cancel (back to caller)" },
    conference: { complete: "Leave (caller stays with them)", cancel: "Drop added party" }
  };

  function setParty(mode, target) {
    party = { mode: mode, target: target || "" };
    var c = $("call-controls");
    c.setAttribute("data-mode", mode);
    var talking = mode === "talking";
    c.querySelectorAll("[data-call]").forEach(function (b) {
      var a = b.getAttribute("data-call");
      b.disabled = a !== "hangup" && !talking;
    });
    c.querySelectorAll("[data-party]").forEach(function (b) {
      var a = b.getAttribute("data-party");
      if (a === "consult" || a === "add") b.disabled = !talking;
      else if (a === "merge") b.disabled = mode !== "consulting";
      else b.disabled = talking;
      if (partyLabels[mode][a]) b.textContent = partyLabels[mode][a];
    });
    var st = $("party-state");
    st.hidden = talking;
    if (mode === "consulting") {
      st.textContent = "Consulting " + party.target + " (the caller hears music)";
      st.className = "badge warn";
    } else if (mode === "conference") {
      st.textContent = "3-way with " + party.target;
      st.className = "badge ok";
    } else {
      st.textContent = "";
    }
  }

  // ---- web chats ----
  var who = { visitor: "Visitor", agent: "You", system: "" };

  function chatBadge(text, cls) {
    var b = $("chat-summary").querySelector(".badge");
    if (b) { b.textContent = text; b.className = "badge " + cls; }
  }

  function addLine(m) {
    var log = $("chat-log");
    if (log.querySelector('li[data-id="' + m.id + '"]')) return;
    var li = el("li", null, "msg " + m.from);
    li.setAttribute("data-id", String(m.id));
    li.appendChild(el("span", m.from === "visitor" && chat && chat.name ? chat.name : who[m.from] || "", "who"));
    li.appendChild(el("span", m.text, "text"));
    var after = null;
    log.querySelectorAll("li[data-id]").forEach(function (o) {
      if (after === null && Number(o.getAttribute("data-id")) > m.id) after = o;
    });
    log.insertBefore(li, after);
    log.scrollTop = log.scrollHeight;
  }

  function loadTranscript() {
    if (!chat) return;
    var id = chat.id;
    fetch("/api/v1/chats/" + enc(id), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (!j || !chat || chat.id !== id) return;
        j.messages.forEach(function (m) { addLine({ id: m.id, from: m.sender, text: m.body }); });
      });
  }

  function showChatOffer(info) {
    chat = { id: info.chat_id, state: "offered", name: info.visitor_name };
    $("chat-card").hidden = false;
    $("chat-offer-actions").hidden = false;
    $("chat-form").hidden = true;
    $("wrapup").hidden = true;
    $("chat-log").replaceChildren();
    $("chat-summary").replaceChildren(el("div", "Chat offered", "badge warn"), table([
      ["Visitor", info.visitor_name || ""],
      ["Phone", info.visitor_phone || ""],
      ["E-mail", info.visitor_email || ""],
      ["Queue", info.queue || ""],
      ["Message", info.first_message || ""]
    ], "chat-info"));
    showCustomer(info.customer, info.visitor_phone, info.chat_id);
  }

  function chatConnected() {
    if (!chat || chat.state === "ended") return;
    chat.state = "connected";
    chatBadge("Chatting", "ok");
    $("chat-offer-actions").hidden = true;
    $("chat-form").hidden = false;
    $("chat-text").focus();
    loadTranscript();
  }

  function chatEnded(by) {
    if (!chat) return;
    chat.state = "ended";
    chatBadge("Ended" + (by ? " (" + by + ")" : ""), "");
    $("chat-form").hidden = true;
    $("chat-offer-actions").hidden = true;
    wrapFor = "chat";
    $("wrapup").hidden = false;
    $("disposition").focus();
  }

  $("chat-accept").addEventListener("click", function () {
    if (!chat) return;
    post("/api/v1/chats/" + enc(chat.id) + "/accept").then(function () { status(""); chatConnected(); })
      .catch(function (e) { status(e.message); $("chat-card").hidden = true; chat = null; });
  });
  $("chat-decline").addEventListener("click", function () {
    if (!chat) return;
    post("/api/v1/chats/" + enc(chat.id) + "/decline").then(function () { status("Chat declined."); })
      .catch(function (e) { status(e.message); });
    $("chat-card").hidden = true;
    chat = null;
  });
  $("chat-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var t = $("chat-text").value.trim();
    if (!chat || !t) return;
    postJson("/api/v1/chats/" + enc(chat.id) + "/message", { text: t })
      .then(function () { $("chat-text").value = ""; status(""); })
      .catch(function (err) { status(err.message); });
  });
  $("chat-text").addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("chat-form").requestSubmit(); }
  });
  $("chat-end").addEventListener("click", function () {
    if (!chat) return;
    post("/api/v1/chats/" + enc(chat.id) + "/end").catch(function (e) { status(e.message); });
  });

  function onEvent(ev) {
    var mine = chat && ev.chat_id === chat.id;
    switch (ev.type) {
      case "chat_offered": showChatOffer(ev.chat); break;
      case "chat_offer_cancelled":
        if (mine && chat.state === "offered") { $("chat-card").hidden = true; chat = null; status("The chat offer was withdrawn."); }
        break;
      case "chat_answered": if (mine) chatConnected(); break;
      case "chat_message": if (mine) addLine(ev); break;
      case "chat_ended": if (mine) chatEnded(ev.by); break;
      case "call_offered": wrapFor = "call"; showPop(ev.call); setParty("talking"); break;
      case "call_ringing": if (ev.call_id === current) setBadge("Ringing", "warn"); break;
      case "call_answered":
        if (ev.call_id === current) { setParty("talking"); setBadge("Talking", "ok"); $("call-controls").hidden = false; }
        break;
      case "call_ended":
        if (ev.call_id === current) {
          setParty("talking");
          setBadge("Ended", "");
          $("call-controls").hidden = true;
          $("wrapup").hidden = false;
          $("disposition").focus();
        }
        break;
      case "agent_state":
        $("agent-state").textContent = ev.state + (ev.reason ? " (" + ev.reason + ")" : "");
        break;
    }
  }

  var backoff = 1000;
  function connect() {
    var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/v1/events");
    ws.onopen = function () { backoff = 1000; panel.setAttribute("data-connected", "1"); };
    ws.onmessage = function (m) { try { onEvent(JSON.parse(m.data)); } catch (e) { /* not ours */ } };
    ws.onclose = function () {
      panel.removeAttribute("data-connected");
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 30000);
    };
  }
  connect();

  panel.querySelectorAll("[data-action]").forEach(function (b) {
    b.addEventListener("click", function () {
      var a = b.getAttribute("data-action");
      var url = "/api/v1/agents/" + enc(agent) + "/" + a;
      if (a === "pause") url += "?reason=" + enc($("pause-reason").value);
      post(url).then(function () { status(""); }).catch(function (e) { status(e.message); });
    });
  });
  panel.querySelectorAll("[data-call]").forEach(function (b) {
    b.addEventListener("click", function () {
      if (!current) return;
      var a = b.getAttribute("data-call");
      var url = "/api/v1/calls/" + enc(current) + "/" + a;
      if (a === "transfer") url += "?to=" + enc($("transfer-to").value);
      post(url).then(function () { status(a + " done"); }).catch(function (e) { status(e.message); });
    });
  });
  // Consult, add, complete, join, cancel: the URL of each step and the
  // mode the call is in once the API accepted it.
  panel.querySelectorAll("[data-party]").forEach(function (b) {
    b.addEventListener("click", function () {
      if (!current) return;
      var a = b.getAttribute("data-party");
      var to = $("transfer-to").value.trim();
      var base = "/api/v1/calls/" + enc(current);
      var step = {
        consult: { url: base + "/consult?to=" + enc(to), mode: "consulting", done: "Consulting " + to + "." },
        add: { url: base + "/conference?add=" + enc(to), mode: "conference", done: "Adding " + to + " to the call." },
        merge: { url: base + "/conference", mode: "conference", done: "All three are talking." },
        complete: { url: base + "/consult/complete", mode: "talking", done: "Transfer completed: the caller is with " + party.target + "." },
        cancel: { url: base + "/consult/cancel", mode: "talking", done: party.mode === "conference" ? party.target + " was dropped." : "Back to the caller." }
      }[a];
      if ((a === "consult" || a === "add") && !to) { status("Enter the number to " + (a === "add" ? "add" : "consult") + " first."); $("transfer-to").focus(); return; }
      var target = a === "consult" || a === "add" ? to : party.target;
      b.disabled = true;
      post(step.url).then(function () {
        status(step.done);
        setParty(step.mode, target);
        if (a === "complete") {
          // The caller is with the other party now and this agent is
          // released (wrap-up follows): hanging up here would cut them off.
          $("call-controls").querySelectorAll("button").forEach(function (x) { x.disabled = true; });
          setBadge("Transferred", "");
        } else {
          setBadge(step.mode === "consulting" ? "Consulting" : step.mode === "conference" ? "3-way" : "Talking", step.mode === "consulting" ? "warn" : "ok");
        }
      }).catch(function (e) {
        status(e.message);
        // The other party already left (busy, no answer, hung up): the
        // call is back to agent and caller.
        if (/no consultation or added party/.test(e.message)) { setParty("talking"); setBadge("Talking", "ok"); }
        else setParty(party.mode, party.target);
      });
    });
  });
  panel.querySelectorAll("[data-rec]").forEach(function (b) {
    b.addEventListener("click", function () {
      if (!current) return;
      post("/api/v1/calls/" + enc(current) + "/recording/" + b.getAttribute("data-rec"))
        .then(function () { status("recording " + b.getAttribute("data-rec")); })
        .catch(function (e) { status(e.message); });
    });
  });
  $("wrapup-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var target = wrapFor === "chat" && chat ? "/api/v1/chats/" + enc(chat.id) : current ? "/api/v1/calls/" + enc(current) : null;
    if (!target) return;
    var url = target + "/disposition?code=" + enc($("disposition").value) + "&notes=" + enc($("notes").value);
    post(url).then(function () {
      status("Wrap-up saved.");
      $("wrapup").hidden = true;
      $("wrapup-form").reset();
    }).catch(function (err) { status(err.message); });
  });
})();
