// Keyboard labeling: number keys pick a label (two digits in a row for 10 and up), "s" skips.
(function () {
  "use strict";
  var form = document.getElementById("label-form");
  if (!form) { return; }
  var count = parseInt(form.getAttribute("data-labels"), 10) || 0;
  var typed = document.getElementById("typed");
  var buffer = "";
  var timer = null;
  var sent = false;

  function submitWith(button) {
    if (sent || !button) { return; }
    sent = true;  // one answer per page, however fast the keys come
    button.classList.add("picked");
    if (form.requestSubmit) { form.requestSubmit(button); } else { button.click(); }
  }

  function pick(number) {
    buffer = "";
    if (typed) { typed.textContent = ""; }
    submitWith(form.querySelector('button[data-key="' + number + '"]'));
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "SELECT" || target.tagName === "TEXTAREA")) { return; }
    if (event.key === "s" || event.key === "S") {
      event.preventDefault();
      submitWith(form.querySelector('button[data-key="s"]'));
      return;
    }
    if (!/^[0-9]$/.test(event.key)) { return; }
    event.preventDefault();
    buffer += event.key;
    if (typed) { typed.textContent = buffer; }
    if (timer) { clearTimeout(timer); timer = null; }
    var value = parseInt(buffer, 10);
    // Pick now when no longer number can start with what was typed; else wait briefly for a second digit.
    if (value >= 1 && (value * 10 > count)) {
      if (value <= count) { pick(value); } else { buffer = ""; if (typed) { typed.textContent = ""; } }
      return;
    }
    timer = setTimeout(function () {
      var v = parseInt(buffer, 10);
      if (v >= 1 && v <= count) { pick(v); } else { buffer = ""; if (typed) { typed.textContent = ""; } }
    }, 600);
  });
}());
