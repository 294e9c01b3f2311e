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
  // The search box's suggestions: as the visitor types, the titles the
  // search service suggests fill the box's datalist (the browser shows
  // them, keyboard and screen readers included); choosing one opens that
  // product. Without this, the box is a plain GET form to /search.
  var box = document.querySelector("input[data-suggest]");
  if (box && box.list && window.fetch) {
    var timer = 0, seq = 0, urls = {};
    box.addEventListener("input", function (e) {
      var q = box.value.trim();
      if (urls[box.value] && e.inputType !== "insertText" && e.inputType !== "deleteContentBackward") {
        window.location.href = urls[box.value]; // a suggestion was chosen
        return;
      }
      window.clearTimeout(timer);
      if (q.length < 2) {
        box.list.replaceChildren();
        return;
      }
      timer = window.setTimeout(function () {
        var mine = ++seq;
        fetch(box.dataset.suggest + "?q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
          .then(function (r) { return r.ok ? r.json() : { items: [] }; })
          .then(function (d) {
            if (mine !== seq) return; // an older answer arriving late
            urls = {};
            box.list.replaceChildren.apply(box.list, (d.items || []).map(function (it) {
              var o = document.createElement("option");
              o.value = it.title; // text, never markup
              urls[it.title] = it.url;
              return o;
            }));
          })
          .catch(function () {});
      }, 150);
    });
  }
})();
