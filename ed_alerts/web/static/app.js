/* ed-alerts pages: a little progressive enhancement. Every page works without this file.
 *
 * - [data-poll-url] containers refresh their content from a server fragment every
 *   data-poll-seconds (the ED board, a referral's delivery status); content with [data-poll-done]
 *   stops the polling. New flagged board rows are announced to screen readers.
 * - form[data-checklist-url] posts itself (not saved) as the user types, and shows the server's
 *   list of what is still missing in #checklist-region.
 * No framework, no build step, nothing fetched from elsewhere.
 */
(function () {
  "use strict";
  var FRAGMENT = { "X-Fragment": "1" };

  function banner(text) {
    var main = document.getElementById("main");
    var box = document.getElementById("session-banner");
    if (!box && main) {
      box = document.createElement("div");
      box.id = "session-banner";
      box.className = "warning";
      box.setAttribute("role", "alert");
      main.insertBefore(box, main.firstChild);
    }
    if (box) { box.textContent = text; }
  }

  function clock(d) {
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds());
  }

  function setStatus(el, text) {
    var id = el.getAttribute("data-poll-status");
    var target = id && document.getElementById(id);
    if (target) { target.textContent = text; }
  }

  function rowIds(root) {
    var ids = {};
    root.querySelectorAll("tr[data-attendance-id]").forEach(function (tr) {
      ids[tr.getAttribute("data-attendance-id")] = true;
    });
    return ids;
  }

  function announceNewRows(el, before) {
    var region = document.getElementById(el.getAttribute("data-announce") || "");
    var said = [];
    el.querySelectorAll("tr[data-attendance-id]").forEach(function (tr) {
      if (!before[tr.getAttribute("data-attendance-id")]) {
        tr.classList.add("new");
        if (tr.getAttribute("data-flagged") === "true") {
          said.push(tr.getAttribute("data-announce-text") || "a flagged child");
        }
      }
    });
    if (region && said.length) {
      region.textContent = "New flagged attendance: " + said.join("; ");
    }
  }

  function replaceContent(el, html) {
    var active = document.activeElement;
    var focusHref = active && el.contains(active) && active.getAttribute("href");
    var before = rowIds(el);
    el.innerHTML = html;
    if (el.hasAttribute("data-announce")) { announceNewRows(el, before); }
    if (focusHref) {
      var again = el.querySelector('a[href="' + focusHref.replace(/"/g, "") + '"]');
      if (again) { again.focus(); }
    }
  }

  function startPolling(el) {
    var url = el.getAttribute("data-poll-url");
    var seconds = parseFloat(el.getAttribute("data-poll-seconds") || "5");
    var last = null;
    var failures = 0;
    var timer = null;

    function schedule(delay) {
      clearTimeout(timer);
      timer = setTimeout(poll, delay);
    }

    function poll() {
      if (document.hidden) { return; } // resumes on visibilitychange
      fetch(url, { headers: FRAGMENT, credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          if (response.status === 401) {
            banner("Your session has ended. Reload the page to sign in again.");
            throw "stop";
          }
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.text();
        })
        .then(function (html) {
          failures = 0;
          if (html !== last) { // the first answer replaces what was rendered: same rows, or newer ones
            replaceContent(el, html);
            last = html;
          }
          setStatus(el, "Updated at " + clock(new Date()) + ".");
          if (el.querySelector("[data-poll-done]")) { return; }
          schedule(seconds * 1000);
        })
        .catch(function (err) {
          if (err === "stop") { return; }
          failures += 1;
          setStatus(el, "Cannot reach ed-alerts; trying again…");
          schedule(Math.min(60, seconds * Math.pow(2, failures)) * 1000);
        });
    }

    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) { schedule(0); }
    });
    if (el.querySelector("[data-poll-done]")) { return; }
    schedule(seconds * 1000);
  }

  function startChecklist(form) {
    var url = form.getAttribute("data-checklist-url");
    var region = document.getElementById(form.getAttribute("data-checklist-region") || "checklist-region");
    var timer = null;
    var inFlight = 0;

    function refresh() {
      var mine = ++inFlight;
      fetch(url, { method: "POST", body: new FormData(form), headers: FRAGMENT, credentials: "same-origin" })
        .then(function (response) {
          if (response.status === 401) {
            banner("Your session has ended. Save what you typed elsewhere, then reload the page to sign in.");
            throw "stop";
          }
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.text();
        })
        .then(function (html) {
          if (mine === inFlight && region) { region.innerHTML = html; }
        })
        .catch(function () { /* the server checks again when the form is saved or sent */ });
    }

    function later() {
      clearTimeout(timer);
      timer = setTimeout(refresh, 300);
    }

    form.addEventListener("input", later);
    form.addEventListener("change", later);
  }

  function ready() {
    document.querySelectorAll("[data-poll-url]").forEach(startPolling);
    document.querySelectorAll("form[data-checklist-url]").forEach(startChecklist);
    document.documentElement.classList.add("js");
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
