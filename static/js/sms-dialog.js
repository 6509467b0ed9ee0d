// ABAH SMS Center: the Pesan dialog. Loads the SMS counter and the dialog styles once, keeps the thread
// scrolled to the newest message when it opens and after sending.
(function (document) {
  "use strict";
  var me = document.currentScript;
  if (me && !window.AbahSms && !document.querySelector("script[data-sms-counter-loaded]")) {
    var counter = document.createElement("script");
    counter.src = me.getAttribute("data-counter");
    counter.setAttribute("data-sms-counter-loaded", "1");
    document.head.appendChild(counter);
  }
  if (me && !document.querySelector("link[data-sms-css]")) {
    var css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = me.getAttribute("data-css");
    css.setAttribute("data-sms-css", "1");
    document.head.appendChild(css);
  }
  if (window.AbahSmsDialog) { window.AbahSmsDialog.scroll(); return; }

  function scroll() {
    var body = document.getElementById("sms-thread-body");
    if (body) { body.scrollTop = body.scrollHeight; }
  }
  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "abah-modal-content") { scroll(); }
  });
  document.body.addEventListener("sms-sent", function (event) {
    // The compose form is emptied after a send and its counter recounted (no hx-on: CSP forbids eval).
    var form = event.target && event.target.closest ? event.target.closest("#sms-compose") : null;
    if (form) {
      form.reset();
      var text = form.querySelector("textarea");
      if (text) { text.dispatchEvent(new Event("input", {bubbles: true})); }
    }
    window.setTimeout(scroll, 0);
  });
  // The thread polls while the dialog is open (static/js/live.js). A reader at the bottom stays at the bottom when
  // new messages come in; one scrolled up to older messages stays where they are.
  var stick = false;
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "sms-thread") {
      var body = document.getElementById("sms-thread-body");
      stick = !!body && body.scrollHeight - body.scrollTop - body.clientHeight < 40;
    }
  });
  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "sms-thread" && stick) { stick = false; scroll(); }
  });
  document.getElementById("abah-modal") && document.getElementById("abah-modal").addEventListener("shown.bs.modal", scroll);
  window.AbahSmsDialog = { scroll: scroll };
  scroll();
})(document);
