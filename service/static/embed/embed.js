/* Tells the portal that framed the builder which plan was saved: ids only, its origin only. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
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
