// Forms of the queue, agent and customer pages. Two small additions to
// plain server-rendered forms, both optional (the pages work without):
// a confirmation before forms marked data-confirm (deletions, logouts),
// and the customer CSV import of a chosen file, sent as a text/csv body
// with the session's CSRF header. The report comes back as an HTML
// fragment rendered (and escaped) by our own server.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.content : "";

  document.addEventListener("submit", function (e) {
    var f = e.target.closest("form[data-confirm]");
    if (f && !window.confirm(f.getAttribute("data-confirm"))) e.preventDefault();
  });

  var form = document.getElementById("import-form");
  var file = document.getElementById("import-file");
  var out = document.getElementById("import-report");
  if (!form || !file || !out) return;

  function say(text, bad) {
    var p = document.createElement("p");
    p.textContent = text;
    if (bad) p.className = "field-error";
    out.replaceChildren(p);
  }

  form.addEventListener("submit", function (e) {
    // No file chosen: the pasted text goes as a plain form.
    if (!file.files || !file.files[0]) return;
    e.preventDefault();
    var button = document.getElementById("import-button");
    if (button) button.disabled = true;
    say("Importing " + file.files[0].name + "…");
    fetch("/customers/import", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "text/csv", "X-CSRF-Token": csrf },
      body: file.files[0]
    }).then(function (r) {
      // The session ended: the server sent the login page.
      if (r.redirected) { window.location.href = r.url; return; }
      var type = r.headers.get("Content-Type") || "";
      return r.text().then(function (t) {
        if (type.indexOf("text/html") === 0) {
          out.innerHTML = t;
        } else {
          var msg = "HTTP " + r.status;
          try { msg = JSON.parse(t).error || msg; } catch (err) { /* not JSON */ }
          say("The import failed: " + msg, true);
        }
      });
    }, function (err) {
      say("The import failed: " + err.message, true);
    }).then(function () {
      if (button) button.disabled = false;
      file.value = "";
    });
  });
})();
