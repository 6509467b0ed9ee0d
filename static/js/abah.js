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
  // Behaviours declared by data attributes, because the Content-Security-Policy allows no inline handlers
  // (onchange=, onclick=, onsubmit=, javascript: links) and no style="" attributes.
  document.addEventListener("change", function (event) {
    const el = event.target;
    if (el.matches && el.matches("[data-abah-autosubmit]") && el.form) { el.form.submit(); }
  });
  document.addEventListener("click", function (event) {
    const all = event.target.closest && event.target.closest("[data-abah-check-all]");
    if (all) {
      document.querySelectorAll("input[name='" + all.getAttribute("data-abah-check-all") + "']").forEach(function (c) {
        c.checked = all.checked;
      });
    }
    const back = event.target.closest && event.target.closest("[data-abah-back]");
    if (back && back.getAttribute("href") === "#") { event.preventDefault(); window.history.back(); }
  });
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.matches && form.matches("form[data-abah-confirm]") && !window.confirm(form.getAttribute("data-abah-confirm"))) {
      event.preventDefault();
    }
  });
  // Widths computed by the server (progress bars): data-abah-width="42.5" → width: 42.5% (set through the CSSOM,
  // which the policy allows), on the page and in every htmx swap.
  function widths(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("[data-abah-width]").forEach(function (el) {
      const value = parseFloat(el.getAttribute("data-abah-width"));
      if (!isNaN(value)) { el.style.width = Math.max(0, Math.min(100, value)) + "%"; }
    });
  }
  widths(document);
  document.body.addEventListener("htmx:load", function (event) { widths(event.detail.elt || document); });
  // htmx errors: show the server's message instead of failing silently.
  document.body.addEventListener("htmx:responseError", function (event) {
    const status = event.detail.xhr.status;
    const text = status === 403 ? document.documentElement.lang === "en" ? "Access denied." : "Akses ditolak."
      : (document.documentElement.lang === "en" ? "The request failed (" + status + ")." : "Permintaan gagal (" + status + ").");
    window.alert(text);
  });
})();
