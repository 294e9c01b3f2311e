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
  // Live updates (Server-Sent Events). An order page marked
  // data-live-order follows its order: at each change it reads itself
  // again and puts the new status, shipments and history in place (the
  // status is a live region, so the change is announced). Without this,
  // a reload shows the same.
  var order = document.querySelector("[data-live-order]");
  if (order && window.EventSource && window.fetch && window.DOMParser) {
    var refresh = function () {
      fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) {
          if (!html) return;
          var doc = new DOMParser().parseFromString(html, "text/html");
          ["shipments", "timeline"].forEach(function (id) {
            var now = document.getElementById(id), next = doc.getElementById(id);
            if (now && next) now.replaceChildren.apply(now, Array.prototype.slice.call(next.childNodes).map(function (n) { return document.adoptNode(n); }));
          });
          var st = document.getElementById("order-status"), nst = doc.getElementById("order-status");
          if (st && nst && st.textContent !== nst.textContent) st.textContent = nst.textContent;
        })
        .catch(function () {});
    };
    var orderEvents = new EventSource(order.dataset.liveOrder);
    ["order.confirmed.v1", "order.shipped.v1", "order.delivered.v1", "order.cancelled.v1", "order.refunded.v1",
      "order.return_requested.v1", "order.return_received.v1", "payment.captured.v1", "payment.refunded.v1", "reset"].forEach(function (t) {
      orderEvents.addEventListener(t, refresh);
    });
    document.body.dataset.live = "on"; // for tests: the stream is set up
  }
  // The back office's notices: new orders, low stock, failing webhooks, as
  // they happen, in the layout's aria-live list (newest first, at most 5).
  var notices = document.querySelector("[data-live-notices]");
  if (notices && window.EventSource) {
    var staffEvents = new EventSource(notices.dataset.liveNotices);
    var notice = function (e) {
      var d;
      try { d = JSON.parse(e.data); } catch (err) { return; }
      if (!d.text) return;
      var li = document.createElement("li");
      li.className = "notice";
      if (d.href) {
        var a = document.createElement("a");
        a.href = d.href;
        a.textContent = d.text; // text, never markup
        li.appendChild(a);
      } else {
        li.textContent = d.text;
      }
      notices.prepend(li);
      while (notices.children.length > 5) notices.lastElementChild.remove();
    };
    ["order.confirmed.v1", "inventory.stock_low.v1", "notify.webhook_disabled.v1"].forEach(function (t) {
      staffEvents.addEventListener(t, notice);
    });
    document.body.dataset.live = "on";
  }
  // A running job (a CSV import) marked data-poll reads its page again
  // every data-poll milliseconds and puts the new part in place, until the
  // part comes back without data-poll (the job is done). Without this, a
  // reload shows the same.
  var poll = document.querySelector("[data-poll]");
  if (poll && poll.id && window.fetch && window.DOMParser) {
    var every = parseInt(poll.dataset.poll, 10) || 1000;
    var again = function () {
      fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) {
          var next = html && new DOMParser().parseFromString(html, "text/html").getElementById(poll.id);
          if (!next) { setTimeout(again, every * 5); return; }
          var now = document.getElementById(poll.id);
          now.replaceChildren.apply(now, Array.prototype.slice.call(next.childNodes).map(function (n) { return document.adoptNode(n); }));
          if (next.hasAttribute("data-poll")) setTimeout(again, every);
          else now.removeAttribute("data-poll");
        })
        .catch(function () { setTimeout(again, every * 5); });
    };
    setTimeout(again, every);
  }
})();
