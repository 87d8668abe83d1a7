"""The guide's flowchart (engine/web/flowchart.py): well-formed, complete, in order, accessible and deterministic."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from engine.rules.cases.model import STANDARD_STEPS
from engine.rules.cases.steps import step_groups, steps_of
from engine.web.flowchart import ROLE_NAMES, describe, flowchart_svg, wrap

REPO = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"


def items(reference) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    cat = reference.catalogue
    return [cat.data(cat.items[code]) for code in sorted(cat.items)]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises on anything that is not well-formed XML


def text_of(el: ET.Element) -> str:
    return "".join(el.itertext())


def boxes(root: ET.Element, cls: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == cls]


def name_text(g: ET.Element) -> str:
    return next(text_of(t) for t in g.iter(f"{SVG}text") if t.get("class") == "name")


def tiny(**extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "code": "T-1",
        "name": "测试事项",
        "time_limit": {"legal": {"value": 20, "unit": "working_day"}, "promised": {"value": 5, "unit": "working_day"}},
        "result": {"kind": "certificate", "name": "测试证"},
        "steps": [
            {"id": "accept", "name": "受理", "role": "window", "limit": {"value": 1, "unit": "working_day"}},
            {"id": "decide", "name": "批准", "role": "decider", "limit": {"value": 2, "unit": "natural_day"}},
        ],
    }
    item.update(extra)
    return item


def test_every_reference_item_draws_every_step_in_order(reference) -> None:  # type: ignore[no-untyped-def]
    for item in items(reference):
        root = parse(flowchart_svg(item))
        drawn = boxes(root, "step")
        steps = steps_of(item)
        assert [g.get("data-step") for g in drawn] == [s["id"] for s in steps], item["code"]
        for g, step in zip(drawn, steps, strict=True):
            assert g.find(f"{SVG}title") is not None
            assert text_of(g.find(f"{SVG}title")).startswith(step["name"])  # type: ignore[arg-type]
            assert name_text(g) == step["name"], item["code"]  # reference names fit in three lines
            assert ROLE_NAMES[step["role"]] in text_of(g)
        assert len(boxes(root, "start")) == 1 and len(boxes(root, "end")) == 1


def test_boxes_stay_inside_the_view_box(reference) -> None:  # type: ignore[no-untyped-def]
    for item in items(reference):
        root = parse(flowchart_svg(item))
        _, _, width, height = (int(v) for v in root.get("viewBox", "").split())
        for rect in root.iter(f"{SVG}rect"):
            x, y, w, h = (int(rect.get(k, "0")) for k in ("x", "y", "width", "height"))
            assert 0 <= x and x + w <= width and 0 <= y and y + h <= height, item["code"]


def test_parallel_group_is_one_row_and_rows_go_down(reference) -> None:  # type: ignore[no-untyped-def]
    parallel = 0
    for item in items(reference):
        root = parse(flowchart_svg(item))
        rows: dict[str, list[tuple[int, int]]] = {}
        for g in boxes(root, "step"):
            rect = g.find(f"{SVG}rect")
            assert rect is not None
            rows.setdefault(g.get("data-group", ""), []).append((int(rect.get("x", "")), int(rect.get("y", ""))))
        assert [len(r) for r in rows.values()] == [len(group) for group in step_groups(item)]
        for row in rows.values():
            assert len({y for _, y in row}) == 1  # side by side
            assert len({x for x, _ in row}) == len(row)  # never on top of each other
            parallel += len(row) > 1
        tops = [row[0][1] for row in rows.values()]
        assert tops == sorted(tops) and len(set(tops)) == len(tops)
    assert parallel >= 5  # the reference catalogue does exercise parallel_with


def test_fork_and_join_bars_around_a_parallel_row() -> None:
    item = tiny(
        steps=[
            {"id": "accept", "name": "受理", "role": "window", "limit": {"value": 1, "unit": "working_day"}},
            {"id": "a", "name": "甲", "role": "undertaker", "limit": {"value": 1, "unit": "working_day"}},
            {
                "id": "b",
                "name": "乙",
                "role": "inspector",
                "limit": {"value": 1, "unit": "working_day"},
                "parallel_with": "a",
            },
            {
                "id": "c",
                "name": "丙",
                "role": "reviewer",
                "limit": {"value": 1, "unit": "working_day"},
                "parallel_with": "a",
            },
        ]
    )
    root = parse(flowchart_svg(item))
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("height") == "3"]
    assert len(bars) == 2  # one fork, one join
    assert "并行办理" in text_of(root)
    assert len({g.get("data-group") for g in boxes(root, "step")}) == 2
    assert "同时办理：甲（承办人，1个工作日）、乙" in describe(item)


def test_special_procedures_beside_the_flow(reference) -> None:  # type: ignore[no-untyped-def]
    seen = {True: 0, False: 0}
    for item in items(reference):
        root = parse(flowchart_svg(item))
        drawn = boxes(root, "procedure")
        procedures = item.get("special_procedures", [])
        assert len(drawn) == len(procedures)
        flow_right = max(int(r.get("x", "")) + int(r.get("width", "")) for r in root.iter(f"{SVG}rect"))
        for g, sp in zip(drawn, procedures, strict=True):
            rect = g.find(f"{SVG}rect")
            assert rect is not None and rect.get("stroke-dasharray")
            assert int(rect.get("x", "")) + int(rect.get("width", "")) == flow_right  # the rightmost column
            assert name_text(g) == sp["name"] or name_text(g).endswith("…")
            assert g.get("data-kind") == sp["kind"]
            clock = next(text_of(t) for t in g.iter(f"{SVG}text") if t.get("class") == "clock")
            assert clock == ("计入办理时限" if sp["counts_toward_limit"] else "不计入办理时限")
            assert f"最长 {sp['max']['value']}" in text_of(g)
            seen[sp["counts_toward_limit"]] += 1
    assert seen[True] and seen[False]


def test_special_procedure_text_and_units() -> None:
    item = tiny(
        special_procedures=[
            {
                "kind": "hearing",
                "name": "听证",
                "max": {"value": 30, "unit": "natural_day"},
                "counts_toward_limit": False,
            },
            {
                "kind": "testing",
                "name": "检验检测",
                "max": {"value": 90, "unit": "minute"},
                "counts_toward_limit": True,
            },
        ]
    )
    text = text_of(parse(flowchart_svg(item)))
    assert "最长 30个自然日" in text and "不计入办理时限" in text and "最长 90分钟" in text
    assert "时限 1个工作日" in text and "时限 2个自然日" in text
    assert describe(item).endswith(
        "听证（听证，最长30个自然日，不计入办理时限）；检验检测（检验检测，最长90分钟，计入办理时限）。"
    )


def test_item_text_is_escaped_and_kept_intact() -> None:
    nasty = '<script>alert("x")</script>&"\'<'
    item = tiny(name="事项" + nasty, result={"kind": "other", "name": "证" + nasty})
    item["steps"][0]["name"] = "受理" + nasty
    item["steps"][0]["id"] = 'a"b'
    item["special_procedures"] = [
        {"kind": "hearing", "name": "听证" + nasty, "max": {"value": 1, "unit": "minute"}, "counts_toward_limit": False}
    ]
    svg = flowchart_svg(item)
    assert "<script" not in svg
    root = parse(svg)
    assert not list(root.iter(f"{SVG}script"))
    assert text_of(root.find(f"{SVG}title")) == "事项" + nasty + "办理流程图"  # type: ignore[arg-type]
    assert "受理" + nasty in text_of(root.find(f"{SVG}desc"))  # type: ignore[arg-type]
    step = boxes(root, "step")[0]
    assert step.get("data-step") == 'a"b'
    assert text_of(step.find(f"{SVG}title")).startswith("受理" + nasty)  # type: ignore[arg-type]
    assert "听证" + nasty in text_of(boxes(root, "procedure")[0].find(f"{SVG}title"))  # type: ignore[arg-type]


def test_characters_xml_cannot_hold_are_dropped() -> None:
    root = parse(flowchart_svg(tiny(name="事\x00项\x1b名\ufffe称")))
    assert text_of(root.find(f"{SVG}title")) == "事项名称办理流程图"  # type: ignore[arg-type]


def test_deterministic(reference) -> None:  # type: ignore[no-untyped-def]
    for item in items(reference):
        assert flowchart_svg(item) == flowchart_svg(copy.deepcopy(item))


def test_deterministic_across_processes() -> None:
    """Hash randomisation must not leak into the output (ids, order)."""
    code = (
        "from engine.web.flowchart import flowchart_svg; import json, sys; "
        "print(flowchart_svg(json.loads(sys.argv[1])))"
    )
    item = tiny(
        special_procedures=[
            {"kind": "hearing", "name": "听证", "max": {"value": 3, "unit": "minute"}, "counts_toward_limit": False}
        ]
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code, json.dumps(item)],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert outs == {flowchart_svg(item) + "\n"}


def test_desc_lists_the_whole_flow_in_order(reference) -> None:  # type: ignore[no-untyped-def]
    for item in items(reference):
        root = parse(flowchart_svg(item))
        desc = text_of(root.find(f"{SVG}desc"))  # type: ignore[arg-type]
        marks = ["提交申请", *(s["name"] for s in steps_of(item)), "送达结果"]
        at, positions = 0, []
        for mark in marks:
            at = desc.index(mark, at)
            positions.append(at)
            at += len(mark)
        assert positions == sorted(positions), item["code"]
        for sp in item.get("special_procedures", []):
            assert sp["name"] in desc[at:]
            if not sp["counts_toward_limit"]:
                assert "不计入办理时限" in desc


def test_accessible_and_self_contained() -> None:
    svg = flowchart_svg(tiny())
    root = parse(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img" and root.get("width") == "100%"
    assert [child.tag for child in root[:2]] == [f"{SVG}title", f"{SVG}desc"]
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    assert set(root.get("aria-labelledby", "").split()) == ids and len(ids) == 2
    assert "sans-serif" in root.get("font-family", "") and "Noto Sans CJK SC" in root.get("font-family", "")
    assert not [
        el for el in root.iter() if el.tag in (f"{SVG}style", f"{SVG}script", f"{SVG}image", f"{SVG}foreignObject")
    ]
    assert "href" not in svg and "url(" not in svg and "@import" not in svg


def test_immediate_and_standard_items_still_get_steps(reference) -> None:  # type: ignore[no-untyped-def]
    immediate = [i for i in items(reference) if i["time_limit"]["promised"]["value"] == 0]
    assert immediate
    for item in immediate:
        root = parse(flowchart_svg(item))
        assert len(boxes(root, "step")) == len(steps_of(item))
        assert "即办件" in text_of(boxes(root, "end")[0])
        assert "分钟" in text_of(root) or "工作日" in text_of(root)
    root = parse(flowchart_svg(tiny(steps="standard")))
    assert [name_text(g) for g in boxes(root, "step")] == [s["name"] for s in STANDARD_STEPS]
    assert "时限" not in "".join(text_of(g) for g in boxes(root, "step"))  # standard steps declare no limits
    assert "时限" not in "".join(text_of(g) for g in boxes(parse(flowchart_svg({"name": "无步骤"})), "step"))


def test_role_names_cover_the_schema_and_can_be_renamed() -> None:
    schema = json.loads((REPO / "schema" / "item.schema.json").read_text(encoding="utf-8"))
    assert set(schema["definitions"]["role"]["enum"]) == set(ROLE_NAMES)
    assert {s["role"] for s in STANDARD_STEPS} <= set(ROLE_NAMES)
    text = text_of(parse(flowchart_svg(tiny(), role_names={"decider": "首席代表"})))
    assert "首席代表" in text and "批准人" not in text and "窗口受理人员" in text


@pytest.mark.parametrize(
    ("text", "width", "lines"),
    [
        ("受理", 10, ["受理"]),
        ("材料审查及预售方案审核", 10, ["材料审查及预", "售方案审核"]),  # balanced, no lone character
        ("一二三四五六七八九（十）", 10, ["一二三四五六", "七八九（十）"]),
        ("一二三四五六七八九十甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥", 10, None),
    ],
)
def test_wrap_by_character_count(text: str, width: int, lines: list[str] | None) -> None:
    got = wrap(text, width, 3)
    if lines is not None:
        assert got == lines
    else:  # too long for three lines: cut with an ellipsis inside the width
        assert len(got) == 3 and got[-1].endswith("…") and all(len(line) <= width for line in got)


def test_wrap_keeps_punctuation_rules() -> None:
    for line in wrap("一二三四五六七八九十（甲乙丙丁戊己庚辛壬癸）、子丑", 10, 5, balance=False)[1:]:
        assert line[0] not in "）、，。"
    assert all(not line.endswith("（") for line in wrap("一二三四五六七八九（十甲乙", 10, 5, balance=False))


def test_english_words_wrap_at_spaces_and_chinese_stays_as_it_was(reference) -> None:  # type: ignore[no-untyped-def]
    from engine.base import i18n

    for text in (
        "Materials incomplete or not in the legal form: told once everything to supplement",
        "Conditions not met: not licensed, in writing",  # the colon after "met" does not push "t" down alone
    ):
        lines = wrap(text, 10.36, 8)
        assert " ".join(lines) == text and all(line == line.strip() for line in lines)  # no word cut, no space drawn
    item = reference.catalogue.data(reference.catalogue.items["QQ-HOUSING-XK-003"])
    chinese = flowchart_svg(item)
    with i18n.speaking("en"):
        english = flowchart_svg(item)
    assert "提交申请" in chinese and "Submit application" in english
    assert "提交申请" not in english and "补正后重新提交" not in english
    assert flowchart_svg(item) == chinese  # the language is the request's: none here
