// Progressive enhancement of the generated application forms: fields whose condition depends
// on another answer on the same page are shown and hidden as the applicant answers, with the
// same condition vocabulary as the server (conditions.js). Without JavaScript every field is
// shown with a line saying when to fill it in, and the server ignores answers to hidden ones.
(function () {
  "use strict";
  var C = window.YangguangConditions;
  var form = document.querySelector("form[data-conditions]");
  if (!C || !form) return;
  var known = {};
  var blob = document.getElementById("known-answers");
  if (blob) { try { known = JSON.parse(blob.textContent); } catch (e) { known = {}; } }

  function values(skip) {
    var data = {};
    Object.keys(known).forEach(function (k) { data[k] = known[k]; });
    var els = form.elements;
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      if (!el.name || el.type === "hidden" || el.type === "submit") continue;
      if (skip && el.closest("[data-when][hidden]")) { delete data[el.name]; continue; }
      if (el.type === "checkbox") {
        if (!Array.isArray(data[el.name])) data[el.name] = [];
        if (el.checked) data[el.name].push(el.value);
      } else if (el.type === "radio") {
        if (el.checked) data[el.name] = el.value;
        else if (!(el.name in data)) data[el.name] = null;
      } else {
        data[el.name] = el.value;
      }
    }
    return data;
  }

  function update() {
    // twice: a field hidden in the first pass must not keep another one visible
    for (var pass = 0; pass < 2; pass++) {
      var data = values(pass > 0);
      var boxes = form.querySelectorAll("[data-when]");
      for (var i = 0; i < boxes.length; i++) {
        var show = true;
        try { show = C.evaluate(JSON.parse(boxes[i].getAttribute("data-when")), data); } catch (e) { show = true; }
        boxes[i].hidden = !show;
        var notes = boxes[i].querySelectorAll(".when");
        for (var j = 0; j < notes.length; j++) notes[j].hidden = true;
      }
    }
  }

  form.addEventListener("change", update);
  form.addEventListener("input", update);
  update();
})();
