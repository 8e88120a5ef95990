// jitbox pages: live regions refreshed with fetch (no build step).
// <div data-refresh="/url" data-interval="2000"> reloads its HTML from /url every interval and after any
// form with data-fetch is submitted (the form posts with fetch instead of navigating).
(function () {
  "use strict";
  function refreshAll() {
    return Promise.all(Array.from(document.querySelectorAll("[data-refresh]")).map(function (el) {
      return fetch(el.getAttribute("data-refresh"), {headers: {"Accept": "text/html"}})
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null && html !== el.innerHTML) { el.innerHTML = html; } })
        .catch(function () {});
    }));
  }
  window.jitboxRefresh = refreshAll;
  document.querySelectorAll("[data-refresh][data-interval]").forEach(function (el) {
    var ms = parseInt(el.getAttribute("data-interval"), 10);
    if (ms > 0) { setInterval(refreshAll, ms); }
  });
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.hasAttribute || !form.hasAttribute("data-fetch")) { return; }
    ev.preventDefault();
    var status = document.getElementById(form.getAttribute("data-status") || "status");
    var data = new URLSearchParams(new FormData(form, ev.submitter || null));
    fetch(form.getAttribute("action"), {method: "POST", body: data, headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json().then(function (body) { return {ok: r.ok, body: body}; }); })
      .then(function (res) {
        if (status) {
          status.textContent = res.body.message || "";
          status.className = res.ok ? "notice" : "alert";
        }
        return refreshAll();
      })
      .catch(function (err) { if (status) { status.textContent = String(err); status.className = "alert"; } });
  });
})();
