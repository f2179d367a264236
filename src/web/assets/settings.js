// Settings and backup pages: asks before forms marked data-confirm (restart,
// cancelling a staged restore, a new certificate), reads a chosen PEM file
// into the text area its input names (data-fill), and uploads a file as the
// raw request body (no multipart) with the page's CSRF token: forms marked
// data-upload="<content type>" (a backup archive to restore, a system
// update), at most data-max bytes, asking data-upload-confirm first when
// set; then it opens data-return with the server's result, or shows the
// server's objection at the file field.
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

  var meta = document.querySelector('meta[name="csrf-token"]');
  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    var status = form.parentNode.querySelector(".upload-status");
    var input = form.elements.file;

    function clearError() {
      form.querySelectorAll(".field-error").forEach(function (s) { s.remove(); });
      input.removeAttribute("aria-invalid");
      if (status) status.textContent = "";
    }

    function showError(text) {
      input.setAttribute("aria-invalid", "true");
      var span = document.createElement("span");
      span.className = "field-error";
      span.id = input.id + "-error";
      span.textContent = text;
      input.parentNode.appendChild(span);
    }

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      clearError();
      var f = input.files[0];
      if (!f) { showError("choose a file"); return; }
      if (f.size > parseInt(form.getAttribute("data-max"), 10)) { showError(form.getAttribute("data-too-big")); return; }
      var ask = form.getAttribute("data-upload-confirm");
      if (ask && !window.confirm(ask)) return;
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      if (status) status.textContent = "Uploading and checking " + f.name + "…";
      fetch(form.getAttribute("action"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRF-Token": meta ? meta.content : "", "Content-Type": form.getAttribute("data-upload") },
        body: f
      }).then(function (r) {
        return r.json().catch(function () { return { error: "the server answered " + r.status }; });
      }).then(function (j) {
        if (j.ok) {
          window.location.href = form.getAttribute("data-return") + "?ok=" + encodeURIComponent(j.ok);
          return;
        }
        button.disabled = false;
        if (status) status.textContent = "";
        showError(j.error || "the upload failed");
      }).catch(function (err) {
        button.disabled = false;
        if (status) status.textContent = "";
        showError("the upload failed: " + err);
      });
    });
  });
})();
