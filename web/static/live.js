// Live progress: while a page shows running runs, refresh their figures from the API every few seconds.
// The page reloads itself when the set of running runs changes (one ended, another started).
(function () {
  "use strict";
  var PERIOD = 3000;
  var boxes = document.querySelectorAll("[data-live]");
  if (!boxes.length) return;

  function size(n) {
    if (!n) return "0 B";
    var units = ["B", "KB", "MB", "GB", "TB"], i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return i ? n.toFixed(1) + " " + units[i] : n + " B";
  }
  function duration(s) {
    s = Math.floor(s || 0);
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    var pad = function (x) { return (x < 10 ? "0" : "") + x; };
    return h ? h + "h" + pad(m) + "m" : m ? m + "m" + pad(sec) + "s" : sec + "s";
  }
  function show(field, run) {
    if (field === "seconds") return duration(run.seconds);
    if (field === "updated_at") return run.updated_at ? run.updated_at.slice(0, 19).replace("T", " ") : "—";
    if (field === "bytes_stored") return size(run.stats.bytes_stored);
    var value = run.stats[field];
    return value === undefined || value === null ? "—" : value.toLocaleString("en-US");
  }

  function refresh() {
    fetch("/api/runs?status=running&limit=1000", {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (runs) {
        var byId = {};
        runs.forEach(function (run) { byId[run.id] = run; });
        var changed = false;
        boxes.forEach(function (box) {
          var shown = box.dataset.runs.split(" ").filter(Boolean);
          if (box.dataset.live === "all") {
            changed = changed || shown.length !== runs.length || shown.some(function (id) { return !byId[id]; });
          } else {
            changed = changed || shown.some(function (id) { return !byId[id]; });
          }
        });
        if (changed) { location.reload(); return; }
        document.querySelectorAll("[data-run]").forEach(function (row) {
          var run = byId[row.dataset.run];
          if (!run) return;
          row.querySelectorAll("[data-field]").forEach(function (cell) {
            cell.textContent = show(cell.dataset.field, run);
          });
        });
        document.querySelectorAll("[data-live-clock]").forEach(function (el) {
          el.textContent = "Figures refreshed at " + new Date().toLocaleTimeString() + ".";
        });
      })
      .catch(function () { /* the server restarting or the session over: try again next time */ })
      .then(function () { setTimeout(refresh, PERIOD); });
  }
  setTimeout(refresh, PERIOD);
})();
