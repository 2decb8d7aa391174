// fngate console: progressive enhancement only. Every page works without
// this script; it adds copy buttons and the live view's updates.
"use strict";

document.addEventListener("click", function (ev) {
  var b = ev.target.closest("button.copy");
  if (!b || !navigator.clipboard) return;
  navigator.clipboard.writeText(b.dataset.copy).then(function () {
    var was = b.textContent;
    b.textContent = "Copied";
    setTimeout(function () { b.textContent = was; }, 1500);
  });
});

// Times arrive in UTC; show them in the reader's time zone, UTC on hover.
document.addEventListener("DOMContentLoaded", function () {
  var fmt = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZoneName: "short" };
  document.querySelectorAll("time[datetime]").forEach(function (t) {
    var d = new Date(t.dateTime);
    if (isNaN(d)) return;
    t.title = t.textContent;
    t.textContent = d.toLocaleString(undefined, fmt);
  });
});

document.addEventListener("DOMContentLoaded", function () {
  var table = document.getElementById("live");
  if (!table || !window.EventSource) return;
  var state = document.getElementById("live-state");
  var body = table.tBodies[0];
  var es = new EventSource(table.dataset.source);
  function cell(label, text, cls) {
    var td = document.createElement("td");
    td.dataset.label = label;
    if (cls) td.className = cls;
    td.textContent = text;
    return td;
  }
  es.onmessage = function (ev) {
    var data = JSON.parse(ev.data);
    var rows = document.createDocumentFragment();
    data.routes.forEach(function (r) {
      var tr = document.createElement("tr");
      var code = document.createElement("code");
      code.textContent = r.route || "(no route)";
      var first = cell("Association", "");
      first.appendChild(code);
      tr.appendChild(first);
      tr.appendChild(cell("Mode", r.mode));
      tr.appendChild(cell("Requests/s", r.rps.toFixed(1), "rps"));
      tr.appendChild(cell("Error rate", (r.errorRate * 100).toFixed(1) + "%", r.errorRate > 0 ? "rate bad" : "rate"));
      tr.appendChild(cell("Requests", String(r.requests)));
      tr.appendChild(cell("5xx", String(r.errors)));
      rows.appendChild(tr);
    });
    if (!data.routes.length) {
      var tr = document.createElement("tr");
      var td = cell("", "No request since the gateways started.");
      td.colSpan = 6;
      tr.appendChild(td);
      rows.appendChild(tr);
    }
    body.replaceChildren(rows);
    state.textContent = "Live, updated " + data.at + ", " + data.gateways + (data.gateways === 1 ? " gateway." : " gateways.");
  };
  es.onerror = function () { state.textContent = "Live feed interrupted; reconnecting…"; };
});
