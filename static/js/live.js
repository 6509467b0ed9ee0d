// ABAH SMS Center: live parts of a page (the open Pesan dialog, UCP > Pesan, the appointment page's invitees).
// An element with data-live polls through htmx (hx-trigger="every Ns, abah-poll"); the server answers 204 when
// nothing changed. Here: no request while the tab is hidden (data-live) or the shared modal is closed
// (data-live="modal"); one at once when the tab comes back; the dialog's poller is removed when the modal closes,
// which ends its htmx timer. (An hx-trigger filter would need eval, which the Content-Security-Policy forbids.)
(function (document) {
  "use strict";
  if (window.AbahLive) { return; }

  function modalOpen() {
    var modal = document.getElementById("abah-modal");
    return !!(modal && modal.classList.contains("show"));
  }
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (!elt || !elt.hasAttribute || !elt.hasAttribute("data-live")) { return; }
    if (document.hidden || (elt.getAttribute("data-live") === "modal" && !modalOpen())) { event.preventDefault(); }
  });
  // A poll that failed (server restarting, network gone) is not an error to show: the next one will try again.
  document.body.addEventListener("htmx:beforeOnLoad", function (event) {
    var elt = event.detail && event.detail.elt;
    if (elt && elt.hasAttribute && elt.hasAttribute("data-live") && event.detail.xhr.status >= 500) {
      event.preventDefault();
    }
  });
  document.addEventListener("visibilitychange", function () {
    if (document.hidden || !window.htmx) { return; }
    document.querySelectorAll("[data-live]").forEach(function (el) { window.htmx.trigger(el, "abah-poll"); });
  });
  var modal = document.getElementById("abah-modal");
  if (modal) {
    modal.addEventListener("hidden.bs.modal", function () {
      modal.querySelectorAll("[data-live]").forEach(function (el) { el.removeAttribute("data-live"); el.remove(); });
    });
  }
  window.AbahLive = { modalOpen: modalOpen };
})(document);
