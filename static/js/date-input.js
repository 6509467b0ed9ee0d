// Date fields typed as dd/mm/yyyy (abah.core.forms.DateInput, data-abah-date): a phone's numeric keypad has no
// "/", so it is put in while typing: "30" → "30/", "3011" → "30/11/", "30112018" (pasted) → "30/11/2018".
// Datetime fields (data-abah-date="datetime") go on with " " and ":" (30/11/2018 09:00). ISO (2018-11-30) and
// anything else typed or pasted is left as it is: the server reads it or says how to write it.
(function () {
  "use strict";

  var DAY_MONTH = /^\d{1,2}\/\d{1,2}\/\d{4}/;

  function next(value, withTime) {
    if (/^\d{8}$/.test(value)) return value.slice(0, 2) + "/" + value.slice(2, 4) + "/" + value.slice(4);
    if (withTime && /^\d{12}$/.test(value)) {
      return value.slice(0, 2) + "/" + value.slice(2, 4) + "/" + value.slice(4, 8) + " " + value.slice(8, 10) + ":" +
        value.slice(10);
    }
    value = value.replace(/\/\/+$/, "/").replace(/ {2,}$/, " ").replace(/::+$/, ":");
    if (/^\d{2}$/.test(value) || /^\d{1,2}\/\d{2}$/.test(value)) return value + "/";
    if (/^\d{3}$/.test(value) || /^\d{1,2}\/\d{3}$/.test(value)) return value.slice(0, -1) + "/" + value.slice(-1);
    if (withTime && DAY_MONTH.test(value)) {
      if (/^\d{1,2}\/\d{1,2}\/\d{4}$/.test(value)) return value + " ";
      if (/^\d{1,2}\/\d{1,2}\/\d{5}$/.test(value)) return value.slice(0, -1) + " " + value.slice(-1);
      if (/ \d{2}$/.test(value)) return value + ":";
      if (/ \d{3}$/.test(value)) return value.slice(0, -1) + ":" + value.slice(-1);
    }
    return value;
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input || !input.matches || !input.matches("input[data-abah-date]")) return;
    if (event.inputType && event.inputType.indexOf("delete") === 0) return; // a deletion stands as it is
    if (input.selectionStart !== input.value.length) return; // editing inside the value: leave it
    var value = next(input.value, input.getAttribute("data-abah-date") === "datetime");
    var max = parseInt(input.getAttribute("maxlength") || "0", 10);
    if (value !== input.value && (!max || value.length <= max)) input.value = value;
  });
})();
