// Settings and backup pages: asks before forms marked data-confirm (restart,
// cancelling a staged restore, a new certificate), reads a chosen PEM file
// into the text area its input names (data-fill), and uploads a backup archive as the raw
// request body (no multipart) with the page's CSRF token, then reloads the
// page with the result or shows the server's objection at the file field.
(function () {
  "use strict";
  document.addEventListener("submit", function (e) {
    var f = e.target.closest("form[data-confirm]");
    if (f && !window.confirm(f.getAttribute("data-confirm"))) e.preventDefault();
  });

  document.addEventListener("change", function (e) {
    var input = e.target.closest("input[type=file][data-fill]");
    var area = input && document.getElementById(input.getAttribute("data-fill"));
    if (!area || !input.files[0]) return;
    input.files[0].text().then(function (t) { area.value = t; });
  });

  var form = document.getElementById("restore-upload");
  if (!form) return;
  var meta = document.querySelector('meta[name="csrf-token"]');
  var status = document.getElementById("upload-status");
  var input = form.elements.file;

  function clearError() {
    form.querySelectorAll(".field-error").forEach(function (s) { s.remove(); });
    input.removeAttribute("aria-invalid");
    status.textContent = "";
  }

  function showError(text) {
    input.setAttribute("aria-invalid", "true");
    var span = document.createElement("span");
    span.className = "field-error";
    span.id = "file-error";
    span.textContent = text;
    input.parentNode.appendChild(span);
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    clearError();
    var f = input.files[0];
    if (!f) { showError("choose a backup archive"); return; }
    if (f.size > parseInt(form.getAttribute("data-max"), 10)) { showError("the archive is larger than 2 GiB"); return; }
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    status.textContent = "Uploading and checking " + f.name + "…";
    fetch(form.getAttribute("action"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": meta ? meta.content : "", "Content-Type": "application/gzip" },
      body: f
    }).then(function (r) {
      return r.json().catch(function () { return { error: "the server answered " + r.status }; });
    }).then(function (j) {
      if (j.ok) {
        window.location.href = "/backup?ok=" + encodeURIComponent(j.ok);
        return;
      }
      button.disabled = false;
      status.textContent = "";
      showError(j.error || "the upload failed");
    }).catch(function (err) {
      button.disabled = false;
      status.textContent = "";
      showError("the upload failed: " + err);
    });
  });
})();
