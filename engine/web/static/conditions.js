// The condition vocabulary of engine/base/conditions.py, for progressive enhancement in the browser.
// Same semantics: a missing or empty field is "absent"; every comparison with an absent field is
// false except `ne` (true) and `present: false` (true). Numbers compare exactly as decimals would
// for the values forms carry (integers and short decimals).
(function (root) {
  "use strict";

  function lookup(data, field) {
    if (Object.prototype.hasOwnProperty.call(data, field)) return data[field];
    var value = data;
    var parts = field.split(".");
    for (var i = 0; i < parts.length; i++) {
      if (value === null || typeof value !== "object" || Array.isArray(value) ||
          !Object.prototype.hasOwnProperty.call(value, parts[i])) return null;
      value = value[parts[i]];
    }
    return value;
  }

  function absent(v) {
    return v === null || v === undefined || v === "" ||
      (Array.isArray(v) && v.length === 0) ||
      (typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0);
  }

  function number(v) {
    if (typeof v === "boolean" || v === null || v === undefined) return null;
    var s = String(v).trim();
    if (!/^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(s)) return null;
    return Number(s);
  }

  function equal(actual, expected) {
    if (Array.isArray(actual)) return actual.some(function (a) { return equal(a, expected); });
    if (typeof actual === "boolean" || typeof expected === "boolean") {
      return actual === expected || String(actual).toLowerCase() === String(expected).toLowerCase();
    }
    if (actual === expected) return true;
    var a = number(actual), e = number(expected);
    if (a !== null && e !== null) return a === e;
    return String(actual) === String(expected);
  }

  function evaluate(cond, data) {
    if ("all" in cond) return cond.all.every(function (c) { return evaluate(c, data); });
    if ("any" in cond) return cond.any.some(function (c) { return evaluate(c, data); });
    if ("not" in cond) return !evaluate(cond.not, data);
    var actual = lookup(data, cond.field);
    if ("present" in cond) return !absent(actual) === Boolean(cond.present);
    if ("ne" in cond) return absent(actual) || !equal(actual, cond.ne);
    if (absent(actual)) return false;
    if ("eq" in cond) return equal(actual, cond.eq);
    if ("in" in cond) return cond["in"].some(function (v) { return equal(actual, v); });
    var a = number(actual);
    var ops = ["gt", "gte", "lt", "lte"];
    for (var i = 0; i < ops.length; i++) {
      if (ops[i] in cond) {
        var b = number(cond[ops[i]]);
        if (a === null || b === null) return false;
        return { gt: a > b, gte: a >= b, lt: a < b, lte: a <= b }[ops[i]];
      }
    }
    throw new Error("not a condition: " + JSON.stringify(cond));
  }

  var api = { evaluate: evaluate, lookup: lookup };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  else root.YangguangConditions = api;
})(this);
