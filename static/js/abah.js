// ABAH SMS Center: small behaviours shared by every page (no framework beyond Bootstrap + htmx).
(function () {
  "use strict";
  // A response targeted at the shared modal opens it; HX-Trigger "abah:close-modal" closes it.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "abah-modal-content") {
      bootstrap.Modal.getOrCreateInstance(document.getElementById("abah-modal")).show();
    }
  });
  document.body.addEventListener("abah:close-modal", function () {
    const modal = bootstrap.Modal.getInstance(document.getElementById("abah-modal"));
    if (modal) { modal.hide(); }
  });
  // htmx errors: show the server's message instead of failing silently.
  document.body.addEventListener("htmx:responseError", function (event) {
    const status = event.detail.xhr.status;
    const text = status === 403 ? document.documentElement.lang === "en" ? "Access denied." : "Akses ditolak."
      : (document.documentElement.lang === "en" ? "The request failed (" + status + ")." : "Permintaan gagal (" + status + ").");
    window.alert(text);
  });
})();
