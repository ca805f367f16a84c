// trailui: optional enhancements; every page works without them.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-copy]").forEach(function (b) {
    var src = document.getElementById(b.getAttribute("data-copy"));
    if (!src || !navigator.clipboard) return;
    b.hidden = false;
    b.addEventListener("click", function () {
      navigator.clipboard.writeText(src.textContent).then(function () {
        b.textContent = "Copied";
        setTimeout(function () { b.textContent = "Copy"; }, 1500);
      });
    });
  });
});

// The live view: rows from the server-sent event stream, built with
// textContent only (never HTML).
document.addEventListener("DOMContentLoaded", function () {
  var table = document.getElementById("live");
  var status = document.getElementById("live-status");
  if (!table || !window.EventSource) return;
  var body = table.tBodies[0];
  var maxRows = 500;
  function cell(tr, text, cls) {
    var td = document.createElement("td");
    if (cls) td.className = cls;
    if (text instanceof Node) td.appendChild(text); else td.textContent = text || "\u2014";
    tr.appendChild(td);
    return td;
  }
  function link(href, text, cls) {
    var a = document.createElement("a");
    a.setAttribute("href", href);
    a.textContent = text;
    if (cls) a.className = cls;
    return a;
  }
  function row(ev) {
    var tr = document.createElement("tr");
    tr.className = "new";
    var t = document.createElement("time");
    t.textContent = ev.time;
    cell(tr, t, "nowrap");
    cell(tr, ev.user ? link("./?user=" + encodeURIComponent(ev.user), ev.user) : "");
    var name = document.createElement("span");
    name.appendChild(link("event?id=" + encodeURIComponent(ev.id), ev.name || "(no name)", "ev"));
    if (ev.ro) {
      var tag = document.createElement("span");
      tag.className = "tag";
      tag.title = "read-only";
      tag.textContent = "R";
      name.appendChild(document.createTextNode(" "));
      name.appendChild(tag);
    }
    cell(tr, name);
    cell(tr, ev.source ? link("./?source=" + encodeURIComponent(ev.source), ev.source) : "");
    var res = document.createElement("span");
    res.textContent = ev.resource || "\u2014";
    if (ev.rtype) res.title = ev.rtype;
    cell(tr, res, "res");
    var err = document.createElement("span");
    if (ev.error) { err.className = "err"; err.textContent = ev.error; }
    cell(tr, err);
    return tr;
  }
  var es = new EventSource(table.getAttribute("data-stream"));
  es.addEventListener("open", function () { status.textContent = "Connected: new events appear at the top."; });
  es.addEventListener("ev", function (m) {
    body.insertBefore(row(JSON.parse(m.data)), body.firstChild);
    while (body.rows.length > maxRows) body.deleteRow(body.rows.length - 1);
  });
  es.addEventListener("gap", function () { status.textContent = "Reconnected; events may be missing in between (reload for the history)."; });
  es.addEventListener("behind", function () { status.textContent = "Fell behind; resuming\u2026"; });
  es.addEventListener("end", function () { status.textContent = "The recorder closed."; es.close(); });
  es.addEventListener("error", function () { if (es.readyState !== 2) status.textContent = "Disconnected; reconnecting\u2026"; });
});
