// switchboard console: asks before a form marked data-confirm is sent
// (deleting a mailbox with its messages, an API key in use). Loaded by the
// voicemail and API key pages; no inline handlers (the CSP forbids them).
(function () {
  "use strict";
  document.addEventListener("submit", function (e) {
    var form = e.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) e.preventDefault();
  });
})();
