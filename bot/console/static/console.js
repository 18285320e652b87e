// 反诈哨兵 console: live parts without a framework.
// <div data-live="URL" data-every="5"> reloads its inner HTML from URL (with the page's query) every N seconds,
// while the tab is visible. <form data-confirm="…"> asks before it is sent.
(function () {
  function refresh(el) {
    var url = el.getAttribute("data-live") + window.location.search;
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (r) {
        if (r.redirected || !r.ok) { throw new Error("HTTP " + r.status); }
        return r.text();
      })
      .then(function (html) { el.innerHTML = html; el.removeAttribute("data-stale"); })
      .catch(function () { el.setAttribute("data-stale", "1"); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live]").forEach(function (el) {
      var every = Math.max(1, parseInt(el.getAttribute("data-every") || "5", 10)) * 1000;
      setInterval(function () { if (!document.hidden) { refresh(el); } }, every);
    });
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (e) {
        if (!window.confirm(f.getAttribute("data-confirm"))) { e.preventDefault(); }
      });
    });
  });
})();
