/* Tells the portal that framed the builder which plan was saved (ids only, its origin only),
   and keeps the session alive while the clinician is typing. */
(function () {
  "use strict";
  // Typing makes no request, and the session ends after a while without one: while the
  // clinician is working, tell Limber at most every two minutes.
  function keepAlive(url) {
    var last = Date.now();
    function activity() {
      if (Date.now() - last < 120000) { return; }
      last = Date.now();
      fetch(url, { credentials: "same-origin", cache: "no-store" }).catch(function () {});
    }
    ["input", "change", "keydown", "click"].forEach(function (name) {
      document.addEventListener(name, activity, { passive: true });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (document.body.dataset.aliveUrl) { keepAlive(document.body.dataset.aliveUrl); }
    var saved = document.querySelector("[data-plan-saved]");
    if (!saved || window.parent === window) { return; }
    // Never "*": the origin the portal registered for this session, so no other page that
    // managed to frame us could read the message.
    window.parent.postMessage({
      type: "limber:plan-saved",
      plan_id: saved.dataset.planId,
      revision: parseInt(saved.dataset.revision, 10)
    }, saved.dataset.parentOrigin);
  });
})();
