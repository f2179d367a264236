// The visitor's chat page on /contact: keeps the transcript live over the
// chat's WebSocket (the token is in an HttpOnly cookie the browser sends
// by itself), sends what the visitor writes and ends the chat on request.
// Every line is put into the page as text (textContent), never as HTML.
(function () {
  "use strict";
  var chat = document.getElementById("chat");
  if (!chat) return;
  var log = document.getElementById("chat-log");
  var statusEl = document.getElementById("chat-status");
  var errorEl = document.getElementById("chat-error");
  var form = document.getElementById("chat-form");
  var text = document.getElementById("chat-text");
  var ended = false;
  var ws = null;
  var backoff = 1000;
  var who = { visitor: "You", agent: "Agent", system: "" };

  function setStatus(state, position) {
    var t = state === "connected" ? "Connected" : state === "ended" ? "Ended"
      : position ? "Waiting for an agent (you are number " + position + ")" : "Waiting for an agent";
    statusEl.textContent = t;
    statusEl.className = "badge " + (state === "connected" ? "ok" : state === "ended" ? "" : "warn");
    chat.setAttribute("data-state", state);
    if (state === "ended") {
      ended = true;
      text.disabled = true;
      document.getElementById("chat-send").disabled = true;
      document.getElementById("chat-end").disabled = true;
    }
  }

  function add(m) {
    if (log.querySelector('li[data-id="' + m.id + '"]')) return;
    var li = document.createElement("li");
    li.className = "msg " + m.from;
    li.setAttribute("data-id", String(m.id));
    var w = document.createElement("span"); w.className = "who"; w.textContent = who[m.from] || "";
    var t = document.createElement("span"); t.className = "text"; t.textContent = m.text;
    li.appendChild(w); li.appendChild(t);
    // Keep id order even if lines arrive out of order (reconnects).
    var after = null;
    log.querySelectorAll("li[data-id]").forEach(function (o) {
      if (after === null && Number(o.getAttribute("data-id")) > m.id) after = o;
    });
    log.insertBefore(li, after);
    log.scrollTop = log.scrollHeight;
  }

  function connect() {
    if (ended) return;
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + location.pathname + "/ws");
    ws.onopen = function () { backoff = 1000; chat.setAttribute("data-connected", "1"); errorEl.textContent = ""; };
    ws.onmessage = function (ev) {
      var m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (m.type === "message") add(m);
      else if (m.type === "status") setStatus(m.state, m.position);
      else if (m.type === "error") errorEl.textContent = m.error;
      else if (m.type === "reload") location.reload();
    };
    ws.onclose = function () {
      chat.removeAttribute("data-connected");
      if (ended) return;
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 30000);
    };
  }
  connect();

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var t = text.value.trim();
    if (!t || !ws || ws.readyState !== 1) return;
    ws.send(JSON.stringify({ type: "say", text: t }));
    text.value = "";
    text.focus();
  });
  text.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
  });
  document.getElementById("chat-end").addEventListener("click", function () {
    if (ws && ws.readyState === 1) ws.send(JSON.stringify({ type: "end" }));
  });
})();
