// Enhancement only: every page works without this file.
(function () {
  "use strict";
  // A submitted form's buttons are disabled, so a second click does not
  // send it again (each form also carries its own Idempotency-Key).
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      e.preventDefault();
      return;
    }
    window.setTimeout(function () {
      form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) {
        b.disabled = true;
      });
    }, 0);
  });
  // A select marked data-autosubmit submits its form on change (sort
  // orders, variant choice); its form keeps a submit button for no-JS use.
  document.addEventListener("change", function (e) {
    var el = e.target;
    if (el.matches && el.matches("[data-autosubmit]") && el.form) {
      el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
    }
  });
})();
