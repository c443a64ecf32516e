// The queue's keys: j and k move a visible selection through the rows, Enter or o opens the selected ticket
// ("/" focuses the search through tessera.js's data-key). Without this script every row is still a link.
(function () {
  "use strict";

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(target.tagName));
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#queue-table tbody tr[data-ticket]"));
  }

  function selectedIndex(all) {
    for (var i = 0; i < all.length; i++) if (all[i].classList.contains("is-selected")) return i;
    return -1;
  }

  function select(all, index) {
    index = Math.max(0, Math.min(all.length - 1, index));
    all.forEach(function (row, i) {
      row.classList.toggle("is-selected", i === index);
      if (i === index) row.setAttribute("aria-current", "true"); else row.removeAttribute("aria-current");
    });
    // Focus follows the selection, so a screen reader reads the ticket and Enter on the link opens it natively.
    var link = all[index].querySelector("a.ticket-link");
    if (link) link.focus({ preventScroll: true });
    all[index].scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    var onLink = event.target && event.target.classList && event.target.classList.contains("ticket-link");
    if (typing(event.target) || (event.target && event.target.tagName === "A" && !onLink)) return;
    var all = rows();
    if (!all.length) return;
    var current = selectedIndex(all);
    if (event.key === "j") {
      select(all, current + 1);
      event.preventDefault();
    } else if (event.key === "k") {
      select(all, current < 0 ? 0 : current - 1);
      event.preventDefault();
    } else if ((event.key === "o" || (event.key === "Enter" && !onLink)) && current >= 0) {
      var link = all[current].querySelector("a.ticket-link");
      if (link) { event.preventDefault(); link.click(); }
    }
  });
})();
