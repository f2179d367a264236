// Dialplan editor: an error names its line; clicking it selects that line
// in the editor (the first error's line is selected when the page opens).
(function () {
  "use strict";
  var text = document.getElementById("plan-text");
  if (!text) return;

  function selectLine(line, col) {
    var lines = text.value.split("\n");
    if (line < 1 || line > lines.length) return;
    var start = 0;
    for (var i = 0; i < line - 1; i++) start += lines[i].length + 1;
    var end = start + lines[line - 1].length;
    text.focus();
    text.setSelectionRange(col > 0 ? Math.min(start + col - 1, end) : start, end);
    var lh = parseFloat(window.getComputedStyle(text).lineHeight) || 18;
    text.scrollTop = Math.max(0, (line - 4) * lh);
  }

  document.addEventListener("click", function (e) {
    var li = e.target.closest(".plan-errors li[data-line]");
    if (!li || e.target.closest("a")) return;
    selectLine(parseInt(li.getAttribute("data-line"), 10), parseInt(li.getAttribute("data-col") || "0", 10));
  });

  var first = document.querySelector("#plan-errors .plan-errors li[data-line]");
  if (first) selectLine(parseInt(first.getAttribute("data-line"), 10), 0);
})();
