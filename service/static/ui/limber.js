/* Progressive enhancement for the clinician UI. Every page works without this file. */
(function () {
  "use strict";

  function builder(form) {
    var status = form.querySelector("[data-live-status]");
    var pending = null;
    var seq = 0;
    var advice = "";  // advice for a record just shown, said again with the check's answer

    function say(words) {
      // The region stays in the page; only its words change, so screen readers announce them.
      // Unchanged words are not said again at every tick.
      if (status && words && status.textContent.trim() !== words) { status.textContent = words; }
    }

    // Ask the server to check the plan as it stands ("Check plan" without leaving the page),
    // then show the rules' answer: swaps, the ranges after them, what is left out.
    function refresh(panels) {
      var body = new FormData(form);
      body.set("action", "check");
      var mine = ++seq;
      fetch(form.getAttribute("action") || window.location.href, {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "X-Limber-Preview": "1" }
      }).then(function (r) { return r.text(); }).then(function (html) {
        if (mine !== seq) { return; }  // a newer check is on its way
        var page = new DOMParser().parseFromString(html, "text/html");
        var focused = document.activeElement && document.activeElement.id;
        panels.forEach(function (name) {
          var fresh = page.querySelector("[data-live='" + name + "']");
          var old = form.querySelector("[data-live='" + name + "']");
          if (!fresh || !old) { return; }
          // Disclosures the clinician opened stay open across the redraw.
          old.querySelectorAll("details[open][id]").forEach(function (d) {
            var twin = fresh.querySelector("#" + CSS.escape(d.id));
            if (twin) { twin.open = true; }
          });
          old.replaceWith(document.importNode(fresh, true));
        });
        // A redrawn panel must not drop keyboard focus to the top of the page.
        if (focused && document.activeElement === document.body) {
          var again = document.getElementById(focused);
          if (again) { again.focus({ preventScroll: true }); }
        }
        var freshStatus = page.querySelector("[data-live-status]");
        // The check's answer replaces the region's words; advice said a moment earlier (refer
        // as an emergency) leads it, or a screen reader may never finish saying it.
        if (freshStatus) { say((advice ? advice + " " : "") + freshStatus.textContent.trim()); }
        advice = "";
        form.dataset.previewed = String(mine);
      }).catch(function () { /* the "Check plan" button still works */ });
    }

    function showRecord(box) {
      var category = box.dataset.category;
      var record = form.querySelector("[data-record='" + category + "']");
      if (!record) { return; }
      var ticked = form.querySelector("[data-red-flag][data-category='" + category + "']:checked");
      var wasHidden = record.hidden;
      record.hidden = !ticked;
      var words = record.querySelector("[data-advice]");
      if (wasHidden && ticked && words) {
        advice = words.textContent.trim();
        say(advice);
      }
    }

    form.addEventListener("change", function (event) {
      var t = event.target;
      if (t.matches("[data-include]")) {
        var card = t.closest("[data-exercise]");
        if (card) {
          card.classList.toggle("exercise--off", !t.checked);
          var doses = card.querySelector("[data-doses]");
          if (doses) { doses.hidden = !t.checked; }
        }
      }
      if (t.matches("[data-red-flag]")) { showRecord(t); }
      var isBox = t.type === "checkbox" || t.type === "radio";
      // A ticked box can swap exercises: redraw the exercise list too. A typed dose only
      // changes the preview, so the box being typed in is never replaced.
      var panels = isBox ? ["preview", "exercises"] : ["preview"];
      clearTimeout(pending);
      pending = setTimeout(function () { refresh(panels); }, 150);
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
          : target.querySelector("input:not([type=hidden]), textarea, select");
        var closed = target.closest("details:not([open])");
        if (closed) { closed.open = true; }
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

  // A table too wide for the window scrolls in its box (WCAG 1.4.10); a keyboard must be able
  // to reach and scroll that box, and a screen reader to name it. Only while it scrolls: a box
  // that fits stays out of the Tab order.
  function scrollableTables() {
    document.querySelectorAll(".table-wrap").forEach(function (wrap) {
      if (wrap.scrollWidth > wrap.clientWidth + 1) {
        var heading = (wrap.closest("section, main") || document).querySelector("h1, h2");
        wrap.tabIndex = 0;
        wrap.setAttribute("role", "region");
        wrap.setAttribute("aria-label", (heading ? heading.textContent.trim() + ": " : "")
          + "table, scrolls sideways");
      } else {
        wrap.removeAttribute("tabindex");
        wrap.removeAttribute("role");
        wrap.removeAttribute("aria-label");
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    scrollableTables();
    window.addEventListener("resize", scrollableTables);
    document.querySelectorAll("[data-builder]").forEach(builder);
    var summary = document.querySelector("[data-error-summary]");
    if (summary) { errorSummary(summary); }
    document.querySelectorAll("[data-handout]").forEach(handout);
    var reveal = document.querySelector("[data-reveal] input.reveal");
    if (reveal) { reveal.focus(); reveal.select(); }
  });
})();
