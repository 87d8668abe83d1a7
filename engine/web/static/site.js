// Small behaviours every page may use, kept out of the HTML so the CSP can refuse inline script.
(function () {
  "use strict";
  var buttons = document.querySelectorAll("[data-print]");
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].hidden = false;
    buttons[i].addEventListener("click", function () { window.print(); });
  }
  // A table or drawing wider than the screen scrolls inside its own box (base.html): keyboard users
  // reach it with Tab to scroll it with the arrow keys.
  function scrollable() {
    var boxes = document.querySelectorAll("main table, figure.flowchart, div.chart");
    for (var j = 0; j < boxes.length; j++) {
      var box = boxes[j];
      if (box.scrollWidth > box.clientWidth + 1) box.setAttribute("tabindex", "0");
      else if (box.getAttribute("tabindex") === "0") box.removeAttribute("tabindex");
    }
  }
  scrollable();
  window.addEventListener("resize", scrollable);
  var summary = document.getElementById("error-summary");
  if (summary && document.activeElement !== summary) summary.focus();
})();
