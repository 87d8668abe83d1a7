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

// Region fields (type: area): without JavaScript one <select> lists the counties of one province by
// city and then the other provinces (choose one, save, then its counties are listed). With it, the
// <select> becomes three linked ones — 省 / 市 / 县 — filled from /static/regions.tsv, the same code
// list the server checks against. The county select takes over the field's name; nothing else changes.
(function () {
  "use strict";
  var fields = document.querySelectorAll("select[data-area]");
  if (!fields.length || !window.fetch) return;
  var SKIP = { "市辖区": 1, "县": 1, "省直辖县级行政区划": 1, "自治区直辖县级行政区划": 1 };
  var WORDS = document.documentElement.lang === "en"
    ? { p: "Province", c: "City", k: "County / district", pick: "Select" }
    : { p: "省（区、市）", c: "市（地区、州）", k: "县（区）", pick: "请选择" };

  function parse(text) {
    var byCode = {}, kids = {};
    text.split("\n").forEach(function (line) {
      if (!line || line.charAt(0) === "#") return;
      var f = line.split("\t");
      byCode[f[0]] = { code: f[0], name: f[1], parent: f[2] || "" };
      (kids[f[2] || ""] = kids[f[2] || ""] || []).push(byCode[f[0]]);
    });
    return { byCode: byCode, kids: kids };
  }

  function path(d, code) {
    var out = [], r = d.byCode[code];
    while (r) { out.unshift(r); r = r.parent ? d.byCode[r.parent] : null; }
    return out;
  }

  function option(r, chosen, nameOf) {
    var o = document.createElement("option");
    o.value = r.code; o.textContent = nameOf ? nameOf(r) : r.name;
    if (r.code === chosen) o.selected = true;
    return o;
  }

  // groups: [[label or "", [regions]]]; a select with nothing to offer is disabled
  function fill(sel, groups, chosen, nameOf) {
    sel.innerHTML = "";
    var blank = document.createElement("option");
    blank.value = ""; blank.textContent = WORDS.pick; sel.appendChild(blank);
    var count = 0;
    groups.forEach(function (g) {
      var parent = sel;
      if (g[0]) { parent = document.createElement("optgroup"); parent.label = g[0]; sel.appendChild(parent); }
      g[1].forEach(function (r) { parent.appendChild(option(r, chosen, nameOf)); count++; });
    });
    sel.disabled = !count;
  }

  function enhance(orig, d) {
    var within = orig.getAttribute("data-within") || "";
    var first = orig.querySelector("optgroup option");  // the province the plain select opens on
    var start = path(d, orig.value || within);
    var focus = (start[0] || path(d, first ? first.value : "")[0] || {}).code || "";
    var box = document.createElement("div");
    box.className = "area-selects";
    var sels = ["p", "c", "k"].map(function (part) {
      var wrap = document.createElement("span");
      wrap.className = "area-part";
      var label = document.createElement("label");
      var sel = document.createElement("select");
      sel.id = orig.id + "-" + part;
      label.setAttribute("for", sel.id);
      label.textContent = WORDS[part];
      wrap.appendChild(label); wrap.appendChild(sel); box.appendChild(wrap);
      return sel;
    });
    var p = sels[0], c = sels[1], k = sels[2];
    if (orig.getAttribute("aria-describedby")) k.setAttribute("aria-describedby", orig.getAttribute("aria-describedby"));
    if (orig.getAttribute("aria-invalid")) k.setAttribute("aria-invalid", "true");
    var scope = path(d, within);
    var provinces = scope.length ? [scope[0]] : d.kids[""];
    function cityName(r) { return SKIP[r.name] ? d.byCode[r.parent].name : r.name; }
    function cities(provCode) {
      if (scope.length > 1) return [scope[1]];
      return (provCode && d.kids[provCode]) || [];
    }
    // the counties of one city, or — no city chosen yet — of the whole province by city, so a
    // county can be picked at once (a city without counties, 东莞市, is chosen itself)
    function counties(provCode, cityCode) {
      var list = cityCode ? [d.byCode[cityCode]] : cities(provCode);
      var groups = [], alone = [];
      list.forEach(function (city) {
        var kids = d.kids[city.code];
        if (kids && kids.length) groups.push([cityCode ? "" : cityName(city), kids]);
        else alone.push(city);
      });
      if (alone.length) groups.push(["", alone]);
      return groups;
    }
    fill(p, [["", provinces]], focus);
    if (provinces.length === 1) p.value = provinces[0].code;
    fill(c, [["", cities(p.value)]], (start[1] || {}).code, cityName);
    if (scope.length > 1) c.value = scope[1].code;
    fill(k, counties(p.value, c.value), (start[2] || start[1] || {}).code);
    p.addEventListener("change", function () {
      fill(c, [["", cities(p.value)]], "", cityName);
      fill(k, counties(p.value, ""), "");
    });
    c.addEventListener("change", function () { fill(k, counties(p.value, c.value), ""); });
    // the county select now answers the field; the original leaves the form
    k.name = orig.name; orig.removeAttribute("name"); orig.disabled = true; orig.hidden = true;
    var label = document.querySelector('label[for="' + orig.id + '"]');
    if (label) label.setAttribute("for", p.id);
    orig.parentNode.insertBefore(box, orig);
    var steps = document.getElementById(orig.id + "-steps");  // the two-step words are for the plain select
    if (steps) steps.hidden = true;
  }

  fetch("/static/regions.tsv").then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
    .then(function (text) {
      var d = parse(text);
      for (var i = 0; i < fields.length; i++) enhance(fields[i], d);
    })
    .catch(function () { /* the plain <select> keeps working */ });
})();
