// Copy buttons: a button with data-copy="ID" copies the value of the
// field with that id. Without JavaScript the field stays selectable.
(function () {
  "use strict";
  var buttons = document.querySelectorAll("button[data-copy]");
  Array.prototype.forEach.call(buttons, function (b) {
    var field = document.getElementById(b.getAttribute("data-copy"));
    var status = document.getElementById("copy-status");
    if (!field) { return; }
    b.hidden = false;
    b.addEventListener("click", function () {
      field.focus();
      field.select();
      var done = function () { if (status) { status.textContent = "Copied."; } };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, function () {
          if (status) { status.textContent = "Select the token and copy it with your keyboard."; }
        });
      } else if (document.execCommand && document.execCommand("copy")) {
        done();
      } else if (status) {
        status.textContent = "Select the token and copy it with your keyboard.";
      }
    });
  });
  var t = document.getElementById("new-token");
  if (t) { t.focus(); t.select(); }
})();
