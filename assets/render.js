// Drawing the salesflow views: plain SVG and DOM, shared by the live dashboard and the report.
// A view is {total, hours, categories, segments, topUnits, topRevenue, alerts, quality}: output
// rows exactly as the job writes them; with `day` (a report) the hours are that day's 24.
"use strict";
var SF = (function () {
  var SVG = "http://www.w3.org/2000/svg";

  function group(n, digits) {
    var parts = Number(n).toFixed(digits).split(".");
    parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return parts.join(".");
  }
  function count(n) { return n === undefined || n === null ? "" : group(n, 0); }
  function money(n) { return n === undefined || n === null ? "" : group(n, 2); }

  function el(tag, attrs, text) {
    var node = tag.indexOf("svg:") === 0 ? document.createElementNS(SVG, tag.slice(4))
                                         : document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function byId(id) { return document.getElementById(id); }

  // A line chart of revenue per hour; points are [{label, value}] in time order.
  function lineChart(svg, points) {
    clear(svg);
    // Drawn across a whole row of the page: wide, so the text keeps the size of the bars' text.
    var w = 1280, h = 260, left = 80, bottom = 28, top = 10, right = 40;
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    if (!points.length) { svg.appendChild(el("svg:text", {x: w / 2, y: h / 2, "text-anchor": "middle", class: "empty"}, "no sales yet")); return; }
    var max = Math.max.apply(null, points.map(function (p) { return p.value; })) || 1;
    var x = function (i) { return left + (points.length === 1 ? (w - left - right) / 2 : i * (w - left - right) / (points.length - 1)); };
    var y = function (v) { return top + (h - top - bottom) * (1 - v / max); };
    [0, 0.5, 1].forEach(function (f) {
      svg.appendChild(el("svg:line", {x1: left, x2: w - right, y1: y(max * f), y2: y(max * f), class: "grid"}));
      svg.appendChild(el("svg:text", {x: left - 6, y: y(max * f) + 4, "text-anchor": "end", class: "axis"}, money(max * f)));
    });
    svg.appendChild(el("svg:polyline", {class: "line", points: points.map(function (p, i) { return x(i) + "," + y(p.value); }).join(" ")}));
    var every = Math.max(1, Math.ceil(points.length / 14));
    points.forEach(function (p, i) {
      var dot = el("svg:circle", {cx: x(i), cy: y(p.value), r: 3, class: "dot", "data-key": p.label, "data-value": p.value});
      dot.appendChild(el("svg:title", {}, p.label + ": " + money(p.value)));
      svg.appendChild(dot);
      if (i % every === 0) svg.appendChild(el("svg:text", {x: x(i), y: h - 8, "text-anchor": "middle", class: "axis"}, p.label));
    });
  }

  // Horizontal bars; items are [{label, value}], drawn in the order given.
  function bars(svg, items) {
    clear(svg);
    var row = 22, w = 640, labelW = 150, valueW = 100;
    var h = Math.max(row, items.length * row);
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    var max = Math.max.apply(null, items.map(function (d) { return d.value; }).concat([0])) || 1;
    items.forEach(function (d, i) {
      var y = i * row;
      svg.appendChild(el("svg:text", {x: labelW - 6, y: y + 15, "text-anchor": "end", class: "label"}, d.label));
      svg.appendChild(el("svg:rect", {x: labelW, y: y + 3, height: row - 6, width: Math.max(1, (w - labelW - valueW) * d.value / max), class: "bar"}));
      svg.appendChild(el("svg:text", {x: w - 4, y: y + 15, "text-anchor": "end", class: "bar-value", "data-key": d.label}, money(d.value)));
    });
  }

  // A table of rows; columns are [[field, title, format]]; `extra(row, tr)` may add cells.
  function table(node, columns, rows, extra) {
    clear(node);
    var head = el("tr");
    columns.forEach(function (c) { head.appendChild(el("th", {}, c[1])); });
    if (extra) head.appendChild(el("th", {}, ""));
    node.appendChild(head);
    rows.forEach(function (r) {
      var tr = el("tr");
      columns.forEach(function (c) {
        var v = r[c[0]];
        tr.appendChild(el("td", {class: c[2] ? "num" : "", "data-field": c[0]}, c[2] ? c[2](v) : (v === null || v === undefined ? "" : String(v))));
      });
      if (extra) extra(r, tr);
      node.appendChild(tr);
    });
  }

  function byRevenue(rows) { return rows.slice().sort(function (a, b) { return b.revenue - a.revenue; }); }
  function byRank(rows) { return rows.slice().sort(function (a, b) { return a.rank - b.rank; }); }

  var TOP = [["rank", "#", count], ["product_id", "product"], ["name", "name"], ["category", "category"], ["units", "units", count], ["revenue", "revenue", money]];
  var QUALITY = [["source_topic", "topic"], ["consumed", "consumed", count], ["applied", "applied", count], ["dead_lettered", "dead letters", count], ["tombstones", "tombstones", count], ["duplicates", "duplicates", count], ["orphans", "orphans", count], ["unpriced", "unpriced", count]];

  // Draws a whole view; `moves(topic, row, tr)` may mark rank changes on the top-product rows.
  function render(view, moves) {
    var t = view.total || {};
    byId("total-orders").textContent = count(t.orders || 0);
    byId("total-units").textContent = count(t.units || 0);
    byId("total-revenue").textContent = money(t.revenue || 0);
    byId("total-aov").textContent = money(t.avg_order_value || 0);
    var hours = view.hours.slice().sort(function (a, b) { return a.hour < b.hour ? -1 : 1; });
    var points = hours.map(function (r) { return {label: r.hour.slice(5, 13).replace("T", " ") + "h", value: r.revenue}; });
    if (view.day) {
      // One day: all 24 hours, an hour without live orders at zero.
      var revenue = {};
      hours.forEach(function (r) { revenue[r.hour.slice(11, 13)] = r.revenue; });
      points = [];
      for (var h = 0; h < 24; h++) {
        var hh = (h < 10 ? "0" : "") + h;
        points.push({label: hh + "h", value: revenue[hh] || 0});
      }
    }
    lineChart(byId("hourly"), points);
    bars(byId("categories"), byRevenue(view.categories).map(function (r) { return {label: r.category, value: r.revenue}; }));
    bars(byId("segments"), byRevenue(view.segments).map(function (r) { return {label: r.gender + " " + r.age_band, value: r.revenue}; }));
    table(byId("top-units"), TOP, byRank(view.topUnits), moves && function (r, tr) { moves("units", r, tr); });
    table(byId("top-revenue"), TOP, byRank(view.topRevenue), moves && function (r, tr) { moves("revenue", r, tr); });
    table(byId("alerts"), [["rule", "rule"], ["reason", "reason"]], view.alerts);
    table(byId("quality"), QUALITY, view.quality);
  }

  return {render: render, count: count, money: money, el: el};
})();
