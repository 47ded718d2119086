// The live dashboard: one server-sent event per committed batch of instants carries the whole
// state, so the page always shows one consistent instant of the job's output.
"use strict";
(function () {
  var HOURS_SHOWN = 72;
  var ranks = {units: {}, revenue: {}};   // product -> rank in the previous snapshot
  var previous = null;                      // {consumed, now_ms} of the previous health report

  function iso(ms) { return ms ? new Date(ms).toISOString().replace(".000Z", "Z") : "–"; }

  function showHealth(h) {
    document.getElementById("lag").textContent = SF.count(h.lag_records);
    document.getElementById("last-progress").textContent = iso(h.last_progress_ms) +
      (h.last_progress_ms ? " (" + Math.max(0, (h.now_ms - h.last_progress_ms) / 1000).toFixed(1) + " s ago)" : "");
    if (previous && h.now_ms > previous.now_ms) {
      var rate = (h.consumed - previous.consumed) * 1000 / (h.now_ms - previous.now_ms);
      document.getElementById("rate").textContent = SF.count(Math.max(0, rate));
    }
    previous = {consumed: h.consumed, now_ms: h.now_ms};
    var state = document.getElementById("state");
    state.textContent = !h.writes ? "health only (process 0 serves the figures)" : h.ready ? "live" : "restoring…";
    state.className = h.ready ? "state-live" : "state-waiting";
  }

  // Marks how a product's rank moved since the previous snapshot.
  function moves(board, row, tr) {
    var before = ranks[board][row.product_id];
    var mark = SF.el("td", {class: "num"});
    if (before === undefined) { mark.textContent = "new"; mark.className += " new"; }
    else if (before > row.rank) { mark.textContent = "▲" + (before - row.rank); mark.className += " up"; }
    else if (before < row.rank) { mark.textContent = "▼" + (row.rank - before); mark.className += " down"; }
    if (before !== row.rank) tr.className = "moved";
    tr.appendChild(mark);
  }

  function showSnapshot(s) {
    var t = s.tables;
    var hours = t.sales_by_hour.slice().sort(function (a, b) { return a.hour < b.hour ? -1 : 1; });
    document.getElementById("hours-note").textContent = hours.length > HOURS_SHOWN ? "(last " + HOURS_SHOWN + " of " + hours.length + " hours)" : "";
    SF.render({
      total: t.sales_total[0], hours: hours.slice(-HOURS_SHOWN), categories: t.sales_by_category,
      segments: t.sales_by_segment, topUnits: t.top_products_by_units,
      topRevenue: t.top_products_by_revenue,
      alerts: s.latest_alerts.map(function (a) { return a.row; }), quality: t.data_quality
    }, moves);
    [["units", t.top_products_by_units], ["revenue", t.top_products_by_revenue]].forEach(function (b) {
      ranks[b[0]] = {};
      b[1].forEach(function (r) { ranks[b[0]][r.product_id] = r.rank; });
    });
    document.getElementById("alert-count").textContent = SF.count(s.alert_count);
    document.getElementById("as-of").textContent = iso(s.time);
    document.body.setAttribute("data-time", s.time);
    document.body.setAttribute("data-version", s.version);
    showHealth(s.health);
  }

  var events = new EventSource("/events");
  events.addEventListener("snapshot", function (e) { showSnapshot(JSON.parse(e.data)); });
  events.addEventListener("health", function (e) { showHealth(JSON.parse(e.data)); });
  events.onerror = function () {
    var state = document.getElementById("state");
    state.textContent = "reconnecting…";
    state.className = "state-waiting";
  };
})();
