// Fax page: sends the chosen document as the request body (no multipart)
// with the page's CSRF token, then opens the new job; or shows the
// server's objections at the fields they concern (number, header, file).
(function () {
  "use strict";
  var form = document.getElementById("fax-send");
  if (!form) return;
  var meta = document.querySelector('meta[name="csrf-token"]');
  var status = document.getElementById("fax-status");

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

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    clearErrors();
    var f = form.elements.file.files[0];
    var to = form.elements.to.value.trim();
    if (!to) { showError("to", "a fax number is required"); return; }
    if (!f) { showError("file", "choose a TIFF, PDF or PNG file"); return; }
    if (f.size > parseInt(form.getAttribute("data-max"), 10)) { showError("file", "the document is larger than 20 MiB"); return; }
    var url = form.getAttribute("action") + "?to=" + encodeURIComponent(to) +
      "&header=" + encodeURIComponent(form.elements.header.value) + "&name=" + encodeURIComponent(f.name);
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    status.textContent = "Uploading and converting " + f.name + "…";
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": meta ? meta.content : "", "Content-Type": f.type || "application/octet-stream" },
      body: f
    }).then(function (r) {
      return r.json().catch(function () { return { error: "the server answered " + r.status, field: "file" }; });
    }).then(function (j) {
      if (j.ok && j.url) {
        window.location.href = j.url + "?ok=" + encodeURIComponent(j.ok);
        return;
      }
      button.disabled = false;
      status.textContent = "";
      (j.errors && j.errors.length ? j.errors : [{ field: j.field, error: j.error }]).forEach(function (x) {
        showError(x.field || "file", x.error || "the fax was not queued");
      });
    }).catch(function (err) {
      button.disabled = false;
      status.textContent = "";
      showError("file", "the upload failed: " + err);
    });
  });
})();
