// Prompt upload: sends the chosen file as the request body (no multipart)
// with the page's CSRF token, then reloads the list with the result, or
// shows the server's objection at the field it concerns.
(function () {
  "use strict";
  var form = document.getElementById("prompt-upload");
  if (!form) return;
  var meta = document.querySelector('meta[name="csrf-token"]');
  var status = document.getElementById("upload-status");

  function clearErrors() {
    form.querySelectorAll(".field-error").forEach(function (s) { s.remove(); });
    form.querySelectorAll("[aria-invalid]").forEach(function (i) { i.removeAttribute("aria-invalid"); });
    status.textContent = "";
  }

  function showError(field, text) {
    var input = form.elements[field] || form.elements.file;
    input.setAttribute("aria-invalid", "true");
    var span = document.createElement("span");
    span.className = "field-error";
    span.id = input.name + "-error";
    span.textContent = text;
    input.parentNode.appendChild(span);
  }

  // A name from the file's: "Welcome Message.mp3" -> "welcome-message".
  form.elements.file.addEventListener("change", function () {
    var f = form.elements.file.files[0];
    if (f && !form.elements.name.value) {
      form.elements.name.value = f.name.replace(/\.[^.]*$/, "").toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "");
    }
  });

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    clearErrors();
    var f = form.elements.file.files[0];
    if (!f) { showError("file", "choose a file"); return; }
    if (f.size > parseInt(form.getAttribute("data-max"), 10)) { showError("file", "the file is larger than 20 MiB"); return; }
    var lang = form.elements.lang.value.trim(), name = form.elements.name.value.trim();
    var url = form.getAttribute("action") + "?lang=" + encodeURIComponent(lang) + "&name=" + encodeURIComponent(name) + "&file=" + encodeURIComponent(f.name);
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    status.textContent = "Uploading and checking " + f.name + "…";
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": meta ? meta.content : "", "Content-Type": "application/octet-stream" },
      body: f
    }).then(function (r) {
      return r.json().catch(function () { return { error: "the server answered " + r.status, field: "file" }; });
    }).then(function (j) {
      if (j.ok) {
        window.location.href = "/prompts?lang=" + encodeURIComponent(lang) + "&ok=" + encodeURIComponent(j.ok);
        return;
      }
      button.disabled = false;
      status.textContent = "";
      showError(j.field || "file", j.error || "the upload failed");
    }).catch(function (err) {
      button.disabled = false;
      status.textContent = "";
      showError("file", "the upload failed: " + err);
    });
  });
})();
