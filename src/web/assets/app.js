// switchboard console helpers. Kept small: htmx does requests and partial
// updates; this file adds the CSRF header to them and makes tables sortable
// and filterable. No framework, no build step.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  document.addEventListener("htmx:configRequest", function (e) {
    if (meta) e.detail.headers["X-CSRF-Token"] = meta.content;
  });

  function cellValue(row, i) {
    var c = row.children[i];
    if (!c) return "";
    var v = c.getAttribute("data-value");
    return v !== null ? v : c.textContent.trim();
  }

  function sortBy(th) {
    var table = th.closest("table"), tbody = table.tBodies[0];
    if (!tbody) return;
    var i = Array.prototype.indexOf.call(th.parentNode.children, th);
    var asc = !th.classList.contains("asc");
    table.querySelectorAll("th").forEach(function (h) { h.classList.remove("asc", "desc"); });
    th.classList.add(asc ? "asc" : "desc");
    var rows = Array.prototype.slice.call(tbody.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, i), y = cellValue(b, i);
      var nx = parseFloat(x), ny = parseFloat(y);
      var r = (!isNaN(nx) && !isNaN(ny) && String(nx) === x.replace(/^0+(?=\d)/, "") ) ? nx - ny : x.localeCompare(y, undefined, { numeric: true });
      return asc ? r : -r;
    });
    rows.forEach(function (r) { tbody.appendChild(r); });
  }

  document.addEventListener("click", function (e) {
    var th = e.target.closest("th[data-sort]");
    if (th) sortBy(th);
  });

  document.addEventListener("input", function (e) {
    var f = e.target.closest("input[data-filter]");
    if (!f) return;
    var table = document.getElementById(f.getAttribute("data-filter"));
    if (!table || !table.tBodies[0]) return;
    var q = f.value.toLowerCase();
    Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
      r.hidden = q !== "" && r.textContent.toLowerCase().indexOf(q) < 0;
    });
  });
})();
