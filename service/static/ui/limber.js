/* Progressive enhancement for the clinician UI. Every page works without this file. */
(function () {
  "use strict";

  function builder(form) {
    var flags = form.querySelectorAll("[data-red-flag]");
    var clearance = form.querySelector("[data-clearance]");
    var cleared = form.querySelector("[name='red_flag_clearance.cleared']");
    var blockedNote = form.querySelector("[data-blocked-note]");

    function update() {
      var ticked = {};
      var any = false;
      flags.forEach(function (box) {
        if (box.checked) { ticked[box.dataset.tier] = true; any = true; }
      });
      form.querySelectorAll("[data-advice]").forEach(function (advice) {
        advice.hidden = !ticked[advice.dataset.advice];
      });
      if (clearance && clearance.hasAttribute("data-collapsible")) { clearance.hidden = !any; }
      if (blockedNote) { blockedNote.hidden = !(any && !(cleared && cleared.checked)); }
    }
    flags.forEach(function (box) { box.addEventListener("change", update); });
    if (cleared) { cleared.addEventListener("change", update); }
    update();

    form.querySelectorAll("[data-exercise]").forEach(function (card) {
      var include = card.querySelector("[data-include]");
      include.addEventListener("change", function () {
        card.classList.toggle("exercise--off", !include.checked);
      });
    });
  }

  function errorSummary(box) {
    box.focus();
    box.querySelectorAll("a[href^='#']").forEach(function (link) {
      link.addEventListener("click", function (event) {
        var target = document.getElementById(link.getAttribute("href").slice(1));
        if (!target) { return; }
        event.preventDefault();
        var input = target.matches("input, textarea, select") ? target
          : target.querySelector("input, textarea, select");
        target.scrollIntoView({ block: "center" });
        (input || target).focus({ preventScroll: true });
      });
    });
  }

  function handout(panel) {
    var url = panel.dataset.statusUrl;
    var text = panel.querySelector("[data-status-text]");
    var actions = panel.querySelector("[data-ready-actions]");
    var refresh = panel.querySelector("[data-refresh]");
    var delay = 700;
    if (refresh) { refresh.hidden = true; }

    function poll() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(function (body) {
          panel.dataset.status = body.status;
          if (body.status === "done") {
            text.textContent = "Ready" + (body.pages ? " (" + body.pages + " pages)." : ".");
            actions.hidden = false;
            var cell = document.querySelector("[data-revision-status]");
            var open = actions.querySelector("[data-open-pdf]");
            if (cell && open) {
              var link = document.createElement("a");
              link.href = open.getAttribute("href");
              link.target = "_blank";
              link.rel = "noopener";
              link.textContent = "PDF";
              cell.replaceChildren(link);
            }
          } else if (body.status === "failed") {
            if (refresh) { refresh.hidden = true; }
            text.textContent = body.message || "The handout could not be made.";
          } else {
            delay = Math.min(delay * 1.5, 5000);
            setTimeout(poll, delay);
          }
        })
        .catch(function () {
          text.textContent = "Could not check the handout. Use Refresh to try again.";
          if (refresh) { refresh.hidden = false; }
        });
    }
    if (panel.dataset.status !== "done" && panel.dataset.status !== "failed") { setTimeout(poll, delay); }

    panel.querySelectorAll("[data-print]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        var frame = document.createElement("iframe");
        frame.className = "visually-hidden";
        frame.title = "Handout for printing";
        frame.src = link.dataset.print;
        frame.addEventListener("load", function () {
          try { frame.contentWindow.focus(); frame.contentWindow.print(); }
          catch (e) { window.open(link.href, "_blank", "noopener"); }
        });
        document.body.appendChild(frame);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-builder]").forEach(builder);
    var summary = document.querySelector("[data-error-summary]");
    if (summary) { errorSummary(summary); }
    document.querySelectorAll("[data-handout]").forEach(handout);
    var reveal = document.querySelector("[data-reveal] input.reveal");
    if (reveal) { reveal.focus(); reveal.select(); }
  });
})();
