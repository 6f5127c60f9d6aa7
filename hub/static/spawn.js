// The progress page: follow the server's progress stream, move the bar,
// list the messages, and go on into Jupyter when it is ready. On a
// failure, say what happened and offer Retry.
(function () {
  "use strict";
  var box = document.getElementById("spawn");
  if (!box || !window.EventSource) { return; }
  var bar = document.getElementById("progress-bar");
  var label = document.getElementById("progress-label");
  var percent = document.getElementById("progress-percent");
  var log = document.getElementById("progress-log");
  var failure = document.getElementById("failure");
  var reason = document.getElementById("failure-reason");
  var next = box.getAttribute("data-next");
  var done = false;
  if (!failure.hidden) { return; }

  function show(p) {
    p = Math.max(0, Math.min(100, p || 0));
    if (p >= bar.value) { bar.value = p; }
    bar.textContent = p + "%";
    percent.textContent = p + "%";
  }
  function note(text) {
    if (!text) { return; }
    var last = log.lastElementChild;
    if (last && last.textContent === text) { return; }
    var li = document.createElement("li");
    li.textContent = text;
    log.appendChild(li);
  }
  function fail(text) {
    done = true;
    label.textContent = "The server did not start";
    reason.textContent = text || "";
    failure.hidden = false;
    document.getElementById("retry").focus();
  }

  var es = new EventSource(box.getAttribute("data-progress-url"));
  es.onmessage = function (e) {
    var ev;
    try { ev = JSON.parse(e.data); } catch (err) { return; }
    show(ev.progress);
    note(ev.message);
    if (ev.failed) {
      es.close();
      fail((ev.message || "").replace(/^Spawn failed: /, ""));
    } else if (ev.ready) {
      es.close();
      done = true;
      show(100);
      label.textContent = "Your server is ready. Opening Jupyter…";
      // A moment at 100% so people see it finish.
      window.setTimeout(function () { window.location.replace(next || ev.url); }, 400);
    }
  };
  es.onerror = function () {
    if (done) { return; }
    if (es.readyState === EventSource.CLOSED) {
      // The stream refused us: the server is no longer starting. The
      // page itself knows where to go from here.
      window.setTimeout(function () { window.location.reload(); }, 2000);
    }
  };
})();
