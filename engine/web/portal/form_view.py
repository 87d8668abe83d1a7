"""What the portal renders for an item's application: its pages (one per form section, then
materials, then check-your-answers) and, per page, the widgets of its fields.

Everything here comes from the item's YAML through the catalogue; no item has a template
of its own. Conditions decide what is shown: a section or field whose condition depends
only on answers given on earlier pages is simply left out; one that depends on a field of
the same page is rendered with its condition (``data-when``, read by static/conditions.js
to show and hide it live) and, for browsers without JavaScript, a line saying when to
fill it in. The server ignores answers to fields that turn out hidden (engine.rules.forms).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.base import conditions, regions, wording
from engine.base.i18n import N_, gettext
from engine.base.money import YUAN
from engine.catalogue.fields import FieldInfo, item_fields
from engine.catalogue.model import Catalogue, Document
from engine.rules import forms
from engine.rules.form_values import TRUE_WORDS

MATERIALS_PAGE = "materials"
CHECK_PAGE = "check"

# field type -> (input type, inputmode, autocomplete, a hint shown when the YAML gives none)
_INPUT: dict[str, tuple[str, str, str, str]] = {
    "text": ("text", "", "", ""),
    "number": ("text", "decimal", "off", ""),
    "integer": ("text", "numeric", "off", ""),
    "money": ("text", "decimal", "off", N_("单位：元，精确到分")),
    "date": ("date", "", "off", N_("格式：年-月-日，如 2026-01-05")),
    "id_card": ("text", "text", "off", N_("18 位公民身份号码，最后一位可能是 X")),
    "uscc": ("text", "text", "off", N_("18 位统一社会信用代码，见营业执照")),
    "phone": ("tel", "tel", "tel", N_("手机号码或带区号的固定电话")),
    "email": ("email", "email", "email", ""),
    "area": ("area", "", "off", N_("选择到县（区）")),
    "address": ("text", "", "street-address", ""),
}


# the hint of a money field without one of its own, by the unit it is asked in (engine.base.money)
_MONEY_HINTS = {
    "元": N_("单位：元，精确到分"),
    "万元": N_("单位：万元，最多六位小数（精确到分）"),
    "元/月": N_("单位：元/月，精确到分"),
    "元/年": N_("单位：元/年，精确到分"),
}


@dataclass(frozen=True, slots=True)
class Page:
    id: str  # a section id, "materials" or "check"
    title: str
    hint: str = ""


@dataclass(slots=True)
class Widget:
    name: str  # section.field, also the HTML name
    id: str  # HTML id
    label: str
    kind: str  # the field type from the YAML
    input_type: str  # text, textarea, select, radio, checkbox, boolean, date, tel, email
    value: Any  # as typed / stored (list for checkbox)
    required: bool
    hint: str = ""
    unit: str = ""
    options: list[dict[str, Any]] = field(default_factory=list)
    inputmode: str = ""
    autocomplete: str = ""
    max_length: int | None = None
    when: str = ""  # JSON of the field's condition (same-page dependency), for conditions.js
    when_text: str = ""  # the condition in words, for browsers without JavaScript
    error: str = ""
    groups: list[dict[str, Any]] = field(default_factory=list)  # an area field's <optgroup>s: label, options
    within: str = ""  # an area field's ``within`` (province or city code), for portal.js

    @property
    def describedby(self) -> str:
        ids = [f"{self.id}-hint"] if self.hint or self.when_text else []
        if self.error:
            ids.append(f"{self.id}-error")
        return " ".join(ids)


def _sections(cat: Catalogue, doc: Document) -> list[Mapping[str, Any]]:
    out = []
    for entry in cat.data(doc).get("form", {}).get("sections", []):
        section = cat.data(cat.forms[entry]) if isinstance(entry, str) and entry in cat.forms else entry
        if isinstance(section, Mapping):
            out.append(section)
    return out


def flat_values(data: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``{section.field: value}`` of the typed, visible answers (what conditions read)."""
    return {f"{s}.{k}": v for s, fields in data.items() for k, v in fields.items()}


def _said(text: Any, owner: Mapping[str, Any]) -> str:
    """A form's text as the page shows it: catalogue text stays as written; the engine's own words in a
    form — a section or field it makes (``msgids``: a chain application's services section,
    engine.rules.chains) and the delivery choice (engine.base.delivery) — are msgids, said in the
    page's language."""
    if not text:
        return ""
    return gettext(str(text)) if owner.get("msgids") or owner.get("delivery") else str(text)


def _option(option: Mapping[str, Any], spec: Mapping[str, Any]) -> str:
    """An option's label as the page shows it; a chain's associated service (engine.rules.chains) is
    worded here, in the page's language, from its parts (the form is built once per catalogue version)."""
    if "after" in option:
        return gettext("%(service)s（%(stage)s办结后启动）") % {"service": option["service"], "stage": option["after"]}
    return _said(option["label"], spec)


def pages(cat: Catalogue, doc: Document, data: Mapping[str, Any]) -> list[Page]:
    """The pages of this application as answered so far: sections whose condition holds, then
    materials (when the item asks for any) and check-your-answers."""
    flat = flat_values(forms.normalise(cat, doc, data))
    out = [
        Page(str(s["id"]), _said(s.get("title", s["id"]), s), _said(s.get("hint", ""), s))
        for s in _sections(cat, doc)
        if "when" not in s or conditions.evaluate(s["when"], flat)
    ]
    if cat.data(doc).get("materials"):
        out.append(Page(MATERIALS_PAGE, gettext("申请材料"), gettext("按要求上传材料的电子文件")))
    out.append(Page(CHECK_PAGE, gettext("核对并提交"), gettext("请核对填写的内容，确认无误后提交")))
    return out


def labels(cat: Catalogue, doc: Document) -> dict[str, str]:
    """Field labels by name and option labels by ``=value``, for conditions in words."""
    out: dict[str, str] = {}
    for name, info in item_fields(doc, cat.forms).items():
        out[name] = str(info.spec["label"])
        for option in info.spec.get("options", []):
            out.setdefault(f"={option['value']}", str(option["label"]))
    return out


def _same_page(condition: Any, section: str) -> bool:
    return any(name.partition(".")[0] == section for _, name in conditions.referenced_fields(condition))


def widgets(
    cat: Catalogue, doc: Document, section: str, data: Mapping[str, Any], errors: Mapping[str, str]
) -> list[Widget]:
    """The widgets of one section's page, with the values given so far and the errors to show."""
    flat = flat_values(forms.normalise(cat, doc, data))
    names = labels(cat, doc)
    out: list[Widget] = []
    infos: list[FieldInfo] = [i for n, i in item_fields(doc, cat.forms).items() if n.partition(".")[0] == section]
    for info in infos:
        spec = info.spec
        when = spec.get("when")
        live = when is not None and _same_page(when, section)
        if when is not None and not live and not conditions.evaluate(when, flat):
            continue  # decided by earlier answers: not asked
        kind = str(spec["type"])
        html_type, inputmode, autocomplete, default_hint = _INPUT.get(kind, ("text", "", "", ""))
        if kind in ("select", "radio", "checkbox", "boolean", "textarea"):
            html_type = kind
        if kind == "money":
            default_hint = _MONEY_HINTS.get(str(spec.get("unit", "元")), default_hint)
        if kind == "area" and spec.get("within"):
            default_hint = _within_hint(str(spec["within"]))
        key = info.name.partition(".")[2]
        raw = data.get(section, {}).get(key) if isinstance(data.get(section), Mapping) else None
        if raw is None and "default" in spec:
            raw = spec["default"]
        required = spec.get("required", False)
        out.append(
            Widget(
                name=info.name,
                id="f-" + info.name.replace(".", "-"),
                label=_said(spec["label"], spec),
                kind=kind,
                input_type=html_type,
                value=_shown_value(raw, kind),
                required=required is True,
                hint=_said(spec["hint"], spec) if "hint" in spec else gettext(default_hint) if default_hint else "",
                # a catalogue's own unit stays as written; the engine's money unit is in the page's language
                unit=str(spec["unit"]) if "unit" in spec else gettext("元") if kind == "money" else "",
                options=[{"value": str(o["value"]), "label": _option(o, spec)} for o in spec.get("options", [])]
                or (_yes_no() if kind == "boolean" else []),
                inputmode=inputmode,
                autocomplete=autocomplete,
                max_length=spec.get("max_length") or (18 if kind in ("id_card", "uscc") else None),
                when=json.dumps(when, ensure_ascii=False, separators=(",", ":")) if live else "",
                when_text=_only_if(when, names) if live and when is not None else "",
                error=errors.get(info.name, ""),
                groups=area_groups(cat, spec, raw) if kind == "area" else [],
                within=str(spec.get("within", "")) if kind == "area" else "",
            )
        )
    return out


def _within_hint(within: str) -> str:
    """The hint of an area field limited to ``within`` (a msgid filled in the page's language)."""
    return gettext(N_("选择%(region)s的县（区）")) % {"region": regions.regions().name(within)}


def _yes_no() -> list[dict[str, str]]:
    return [{"value": "true", "label": gettext(N_("是"))}, {"value": "false", "label": gettext(N_("否"))}]


def _only_if(when: Any, names: Mapping[str, str]) -> str:
    """A field's show-condition in the page's language: 仅当申请人类型为法人或其他组织时填写."""
    return gettext(N_("仅当%(condition)s时填写")) % {"condition": conditions.describe(when, names, gettext)}


def area_groups(cat: Catalogue, spec: Mapping[str, Any], value: Any) -> list[dict[str, Any]]:
    """The choices of an area field as one <select> that works without JavaScript: the county-level
    divisions of one province grouped by city, then the other provinces. A province chosen from the
    last group comes back (engine.rules.forms: 请继续选择到县) with its own counties listed: two steps at most.
    The province shown is that of the answer so far, else of ``within``, else the center's own."""
    data = regions.regions()
    within = str(spec.get("within") or "")
    code = str(value or "")
    if within and data.level(within) == "city":
        counties = data.children.get(within) or (data.by_code[within],)
        return [{"label": data.name(within), "options": [_region_option(r) for r in counties]}]
    focus = (
        data.province_of(code)
        or data.province_of(within)
        or data.province_of(str((cat.center or {}).get("region", "")))
    )
    groups: list[dict[str, Any]] = []
    alone: list[dict[str, str]] = []  # cities without counties, chosen themselves (441900 东莞市)
    for city in data.children.get(focus, ()):
        counties = data.children.get(city.code, ())
        if counties:
            groups.append({"label": data.name(city.code), "options": [_region_option(r) for r in counties]})
        else:
            alone.append(_region_option(city))
    if alone:
        groups.append({"label": data.name(focus), "options": alone})
    if not within:
        others = [_region_option(p) for p in data.children.get("", ()) if p.code != focus]
        groups.append({"label": N_("其他省（区、市）"), "options": others, "other": True})
    return groups


def _region_option(region: regions.Region) -> dict[str, str]:
    return {"value": region.code, "label": region.name}


def _shown_value(raw: Any, kind: str) -> Any:
    if kind == "checkbox":
        values = raw if isinstance(raw, list) else ([] if raw in (None, "") else [raw])
        return [str(v) for v in values]
    if isinstance(raw, bool):
        return "true" if raw else "false"
    return "" if raw is None else str(raw)


def answer_text(spec: Mapping[str, Any], value: Any) -> str:
    """An answer as the applicant reads it on the check page and staff on the desk (option labels,
    是/否, an amount in the unit it was asked in: 1200.00 万元)."""
    kind = spec["type"]
    options = {str(o["value"]): _option(o, spec) for o in spec.get("options", [])}
    if kind == "boolean":
        return wording.yes_no(value is True or str(value).lower() in TRUE_WORDS)  # 是/否, Yes/No
    if kind == "checkbox":
        values = value if isinstance(value, list) else [value]
        return gettext("、").join(options.get(str(v), str(v)) for v in values)
    if kind in ("select", "radio"):
        return options.get(str(value), str(value))
    if kind == "money":
        if "unit" in spec:  # a catalogue's own unit stays as written; the engine's yuan is in the page's language
            return forms.money_text(value, str(spec["unit"]))
        return forms.money_text(value, YUAN).removesuffix(YUAN) + gettext("元")
    if kind == "area":  # people read the place, never the bare code (黑龙江省齐齐哈尔市龙沙区)
        return regions.regions().name(str(value))
    unit = spec.get("unit")
    return f"{value} {unit}" if unit else str(value)


def section_of_page(form_data: Mapping[str, Any], section: str, infos: list[Widget]) -> dict[str, Any]:
    """This page's answers from a submitted HTML form (``getlist`` for checkboxes), as typed."""
    getlist = getattr(form_data, "getlist", None)
    out: dict[str, Any] = {}
    for w in infos:
        key = w.name.partition(".")[2]
        if w.input_type == "checkbox":
            out[key] = [str(v) for v in (getlist(w.name) if getlist else form_data.get(w.name, []))]
        else:
            value = form_data.get(w.name)
            out[key] = value if isinstance(value, str) else ""
    return out
