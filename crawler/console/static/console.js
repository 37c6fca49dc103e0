// Progressive enhancement only: every page works without this file.
// Queue: j/k (or arrows) move between rows, x selects, Enter or o opens, / jumps to the filters;
// the header checkbox selects every row of the page.
(function () {
  "use strict";
  function ready(fn) { if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); } }
  ready(function () {
    var all = document.getElementById("pick-all");
    if (all) {
      all.addEventListener("change", function () {
        document.querySelectorAll("#queue input[name=pick]").forEach(function (box) { box.checked = all.checked; });
      });
    }
    var rows = Array.prototype.slice.call(document.querySelectorAll("#queue tbody tr[data-href]"));
    if (!rows.length) { return; }
    var at = -1;
    function focus(i) {
      if (i < 0 || i >= rows.length) { return; }
      if (at >= 0) { rows[at].classList.remove("focus"); }
      at = i;
      rows[at].classList.add("focus");
      rows[at].scrollIntoView({ block: "nearest" });
    }
    document.addEventListener("keydown", function (e) {
      var tag = (e.target.tagName || "").toLowerCase();
      if (tag === "input" || tag === "select" || tag === "textarea" || e.ctrlKey || e.metaKey || e.altKey) { return; }
      if (e.key === "j" || e.key === "ArrowDown") { focus(at + 1); e.preventDefault(); }
      else if (e.key === "k" || e.key === "ArrowUp") { focus(Math.max(0, at - 1)); e.preventDefault(); }
      else if (e.key === "x" && at >= 0) { var box = rows[at].querySelector("input[name=pick]"); box.checked = !box.checked; e.preventDefault(); }
      else if ((e.key === "Enter" || e.key === "o") && at >= 0) { window.location.href = rows[at].getAttribute("data-href"); e.preventDefault(); }
      else if (e.key === "/") { var first = document.querySelector("#filters input, #filters select"); if (first) { first.focus(); e.preventDefault(); } }
    });
  });
}());
