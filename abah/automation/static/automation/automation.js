// ABAH SMS Center, automatic SMS: insert a placeholder at the cursor; load a picked template into the text.
(function (document) {
  "use strict";

  function changed(textarea) {
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-insert-placeholder]");
    if (!button) { return; }
    var textarea = document.querySelector("textarea[name=text]");
    if (!textarea) { return; }
    var value = button.getAttribute("data-insert-placeholder");
    var start = textarea.selectionStart, end = textarea.selectionEnd;
    textarea.value = textarea.value.slice(0, start) + value + textarea.value.slice(end);
    textarea.focus();
    textarea.selectionStart = textarea.selectionEnd = start + value.length;
    changed(textarea);
  });

  // Once the text is edited, the error of the last save no longer describes it (the live preview does).
  document.addEventListener("input", function (event) {
    var textarea = event.target.closest("textarea.is-invalid");
    if (!textarea) { return; }
    textarea.classList.remove("is-invalid");
    for (var el = textarea.nextElementSibling; el && el.classList.contains("invalid-feedback");
         el = el.nextElementSibling) {
      el.classList.add("d-none");
    }
  });

  document.addEventListener("change", function (event) {
    var select = event.target.closest("select[data-template-picker]");
    if (!select) { return; }
    var option = select.options[select.selectedIndex];
    var text = option && option.getAttribute("data-text");
    var textarea = document.querySelector("textarea[name=text]");
    if (text && textarea) {
      textarea.value = text;
      changed(textarea);
    }
  });
})(document);
