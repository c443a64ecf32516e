// Keyboard shortcuts and live SLA clocks; everything here is a convenience, every page works without it.
(function () {
  "use strict";
  var pending = null;  // the first key of a two-key shortcut ("g" then "q")

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  function dialog(show) {
    var box = document.getElementById("shortcuts");
    if (!box) return;
    box.hidden = !show;
    if (show) box.querySelector("[data-close]").focus();
  }

  function press(selector) {
    var element = document.querySelector(selector);
    if (!element) return false;
    if (/^(INPUT|TEXTAREA|SELECT)$/.test(element.tagName)) element.focus(); else element.click();
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { dialog(false); return; }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) {
      // Ctrl+Enter sends the composer from inside it.
      if ((event.ctrlKey || event.metaKey) && event.key === "Enter" && event.target.form &&
          event.target.form.hasAttribute("data-composer")) {
        event.preventDefault();
        event.target.form.requestSubmit();
      }
      return;
    }
    if (pending === "g") {
      pending = null;
      var targets = { q: "/queue", d: "/dashboard", n: "/notifications", k: "/knowledge" };
      if (targets[event.key]) { window.location.href = targets[event.key]; event.preventDefault(); }
      return;
    }
    if (event.key === "g") { pending = "g"; setTimeout(function () { pending = null; }, 1500); return; }
    if (event.key === "?") { dialog(true); event.preventDefault(); return; }
    // Page-specific shortcuts: an element with data-key="r" is clicked (or focused) when r is pressed.
    var target = document.querySelector('[data-key="' + CSS.escape(event.key) + '"]');
    if (target && press('[data-key="' + CSS.escape(event.key) + '"]')) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    if (event.target.matches && event.target.matches("#shortcuts [data-close]")) dialog(false);
  });

  // SLA clocks: the server renders the remaining business seconds and whether the clock runs; this only counts
  // running clocks down between page loads (the server's figure is the truth on every refresh).
  function format(seconds, element) {
    var late = seconds < 0, s = Math.abs(Math.round(seconds));
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    var text = (d ? d + "d " : "") + (d || h ? h + "h " : "") + m + "m";
    return late ? (element.getAttribute("data-late") || "-") + " " + text : text;
  }
  function tick() {
    document.querySelectorAll("[data-sla-remaining]").forEach(function (element) {
      var left = parseFloat(element.getAttribute("data-sla-remaining"));
      if (element.getAttribute("data-sla-running") === "true") {
        left -= 30;
        element.setAttribute("data-sla-remaining", String(left));
      }
      element.textContent = format(left, element);
    });
  }
  setInterval(tick, 30000);
})();
