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
  // data-live-watch="<selector>": the rows inside it ([data-live-id]) whose data-status is one of data-live-pending
  // go with the request as watch=id.status,… so the server can tell which marks changed.
  document.body.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    var selector = elt && elt.getAttribute && elt.getAttribute("data-live-watch");
    if (!selector) { return; }
    var pending = (elt.getAttribute("data-live-pending") || "").split(" ");
    var watch = [];
    document.querySelectorAll(selector + " [data-live-id]").forEach(function (row) {
      var status = row.getAttribute("data-status");
      if (watch.length < 200 && pending.indexOf(status) >= 0) { watch.push(row.getAttribute("data-live-id") + "." + status); }
    });
    if (watch.length) { event.detail.parameters.watch = watch.join(","); }
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
