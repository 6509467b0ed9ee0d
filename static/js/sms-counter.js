// ABAH SMS Center: live SMS length counter, on the same rules as abah/sms/encoding.py (tests compare the two).
// <textarea data-sms-counter="#target-id" data-label-chars="karakter" data-label-sms="SMS"> writes
// "N karakter, M SMS (GSM-7)" into the target; a UCS-2 text also gives the target the class "text-warning".
(function (window, document) {
  "use strict";

  // 3GPP TS 23.038 default alphabet without the escape (0x1B), and the extension table (escape + character).
  var BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var EXTENSION = "\f^{}\\[~]|€";
  var GSM7 = { single: 160, multi: 153 };
  var UCS2 = { single: 70, multi: 67 };

  var inBasic = Object.create(null);
  var inExtension = Object.create(null);
  var i;
  for (i = 0; i < BASIC.length; i++) { inBasic[BASIC[i]] = true; }
  for (i = 0; i < EXTENSION.length; i++) { inExtension[EXTENSION[i]] = true; }

  function gsmUnits(ch) { return inExtension[ch] ? 2 : 1; }
  // An astral character (emoji) is a surrogate pair in UTF-16: two code units, like `len(utf16) // 2`.
  function ucs2Units(ch) { return ch.length; }

  function analyze(text) {
    text = text == null ? "" : String(text);
    // for...of walks code points, so a surrogate pair is one item; chars then matches Python's len(text).
    var chars = [];
    for (var ch of text) { chars.push(ch); }
    var gsm = chars.every(function (c) { return inBasic[c] || inExtension[c]; });
    var units = gsm ? gsmUnits : ucs2Units;
    var limits = gsm ? GSM7 : UCS2;
    var total = 0;
    chars.forEach(function (c) { total += units(c); });

    var parts = [];
    var perSegment = limits.single;
    if (chars.length && total <= limits.single) {
      parts.push(text);
    } else if (chars.length) {
      // Whole characters only: an escape pair or a surrogate pair never straddles two segments, because a
      // handset would show it as garbage. A character that does not fit opens the next segment.
      perSegment = limits.multi;
      var current = "";
      var used = 0;
      chars.forEach(function (c) {
        var cost = units(c);
        if (used + cost > perSegment) {
          parts.push(current);
          current = "";
          used = 0;
        }
        current += c;
        used += cost;
      });
      parts.push(current);
    }
    return {
      encoding: gsm ? "GSM-7" : "UCS-2",
      chars: chars.length,
      units: total,
      segments: parts.length,
      perSegment: perSegment,
      parts: parts
    };
  }

  function render(textarea) {
    var selector = textarea.getAttribute("data-sms-counter");
    var target = null;
    try { target = selector ? document.querySelector(selector) : null; } catch (error) { target = null; }
    if (!target) { return; }
    var result = analyze(textarea.value);
    var labelChars = textarea.getAttribute("data-label-chars") || "karakter";
    var labelSms = textarea.getAttribute("data-label-sms") || "SMS";
    target.textContent = result.chars + " " + labelChars + ", " + result.segments + " " + labelSms +
      " (" + result.encoding + ")";
    if (result.encoding === "UCS-2") {
      target.classList.add("text-warning");
    } else {
      target.classList.remove("text-warning");
    }
  }

  function refresh() {
    var textareas = document.querySelectorAll("textarea[data-sms-counter]");
    for (var k = 0; k < textareas.length; k++) { render(textareas[k]); }
  }

  // One delegated listener serves textareas that htmx swaps in later (the shared modal) without rebinding.
  document.addEventListener("input", function (event) {
    var el = event.target;
    if (el && el.tagName === "TEXTAREA" && el.hasAttribute("data-sms-counter")) { render(el); }
  });
  // Fresh or swapped-in textareas may already hold text (editing a template): count it at once.
  document.addEventListener("htmx:load", refresh);
  document.addEventListener("htmx:afterSwap", refresh);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", refresh);
  } else {
    refresh();
  }

  window.AbahSms = { analyze: analyze, refresh: refresh };
})(window, document);
