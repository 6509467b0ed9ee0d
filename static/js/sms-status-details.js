// ABAH SMS Center: the status page refreshes every few seconds (htmx); a <details> the admin opened (a process's
// last error, its traceback) stays open across the refresh instead of closing under the reader's eyes.
(function (document) {
  "use strict";
  var open = {};
  document.body.addEventListener("htmx:beforeSwap", function () {
    open = {};
    document.querySelectorAll("details[data-keep-open]").forEach(function (node) {
      if (node.open) { open[node.getAttribute("data-keep-open")] = true; }
    });
  });
  document.body.addEventListener("htmx:afterSwap", function () {
    document.querySelectorAll("details[data-keep-open]").forEach(function (node) {
      if (open[node.getAttribute("data-keep-open")]) { node.open = true; }
    });
  });
})(document);
