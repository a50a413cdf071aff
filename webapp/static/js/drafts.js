// Form drafts: what a signed-in shopper types into a form marked data-draft-url is saved
// as they type, so the form opens with it again on any device (accounts.views.draft_save).
// A static file, not inline, so a strict Content-Security-Policy allows it. Without it the
// form works the same; only the draft is not kept.
(function () {
  "use strict";
  var DELAY = 800; // milliseconds after the last keystroke: one request per pause, not per key

  function watch(form) {
    var timer = null;
    var sent = null;
    var submitted = false;

    function save(keepalive) {
      timer = null;
      var body = new URLSearchParams(new FormData(form));
      var serialised = body.toString();
      if (submitted || serialised === sent) {
        return;
      }
      sent = serialised;
      fetch(form.dataset.draftUrl, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        keepalive: keepalive,
        headers: { "X-CSRFToken": body.get("csrfmiddlewaretoken") || "" },
      }).catch(function () {
        sent = null; // offline for a moment: the next keystroke tries again
      });
    }

    form.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(save, DELAY, false);
    });
    form.addEventListener("submit", function () {
      submitted = true; // the submission clears the draft; a late save must not bring it back
      clearTimeout(timer);
    });
    window.addEventListener("pagehide", function () {
      if (timer !== null) {
        clearTimeout(timer);
        save(true); // leaving mid-pause: send what was typed, even as the page goes
      }
    });
  }

  document.querySelectorAll("form[data-draft-url]").forEach(watch);
})();
