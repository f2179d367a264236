// The agent panel: listens to the CTI event stream (limited by the server
// to this agent), shows the screen pop when the phone rings, call controls
// while talking and the wrap-up form afterwards. Every caller-supplied
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
    var c = $("customer");
    var cust = call.customer;
    if (cust && Object.keys(cust).length) {
      var first = ["name", "account", "phone", "tags", "notes"];
      var rows = [];
      first.forEach(function (k) { if (cust[k]) rows.push([k, cust[k]]); });
      Object.keys(cust).sort().forEach(function (k) { if (first.indexOf(k) < 0 && cust[k] !== "") rows.push([k, cust[k]]); });
      c.replaceChildren(table(rows, "customer-record"));
    } else {
      c.replaceChildren(el("p", "Unknown caller: no customer record for " + (call.caller || "this number") + ".", "muted"));
    }
    $("history").replaceChildren(el("p", "Loading…", "muted"));
    fetch("/agent/history?number=" + enc(call.caller || ""), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) { $("history").innerHTML = html; })
      .catch(function () { $("history").replaceChildren(el("p", "History unavailable.", "muted")); });
  }

  function setBadge(text, cls) {
    var b = $("call-summary").querySelector(".badge");
    if (b) { b.textContent = text; b.className = "badge " + cls; }
  }

  function onEvent(ev) {
    switch (ev.type) {
      case "call_offered": showPop(ev.call); break;
      case "call_ringing": if (ev.call_id === current) setBadge("Ringing", "warn"); break;
      case "call_answered":
        if (ev.call_id === current) { setBadge("Talking", "ok"); $("call-controls").hidden = false; }
        break;
      case "call_ended":
        if (ev.call_id === current) {
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
    if (!current) return;
    var url = "/api/v1/calls/" + enc(current) + "/disposition?code=" + enc($("disposition").value) + "&notes=" + enc($("notes").value);
    post(url).then(function () {
      status("Wrap-up saved.");
      $("wrapup").hidden = true;
      $("wrapup-form").reset();
    }).catch(function (err) { status(err.message); });
  });
})();
