"""The checker in the administrator's language, and the data-quality warnings.

The exact lines of every rule are in tests/fixtures/checks/<case>/expected.txt (licence-decider,
step-role, natural-days, note-contradiction, schema-and-references, enum-chinese, colon-text,
fee-free, whole-law); here: the reference catalogue as the model the rules keep it, the rules'
edges, a file with a schema error whose references are still judged (with a cache, and with any
shape at all), and Chinese enum labels that follow the schema's own descriptions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.base.result import WARNING_KINDS
from engine.catalogue import partial, schemas
from engine.catalogue.cache import FileCache
from engine.catalogue.yaml_policy import parse
from engine.check import quality
from engine.check.pipeline import load
from engine.cli.main import main

REPO = Path(__file__).resolve().parents[3]
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "checks"
RULES = {"licence-decider", "step-role", "natural-days", "note-contradiction"}


@pytest.mark.parametrize("catalogue", [".", "examples/county", "examples/village"])
def test_the_reference_catalogue_and_the_examples_pass_strict(catalogue: str) -> None:
    result = load(REPO / catalogue)
    assert [p.render() for p in result.problems] == []
    assert main(["check", str(REPO / catalogue), "--strict", "--no-cache"]) == 0


def test_the_rules_are_warnings() -> None:
    assert RULES <= WARNING_KINDS


def _licence(**extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "code": "QQ-A-001",
        "type": "license",
        "time_limit": {"legal": {"value": 20, "unit": "working_day"}, "promised": {"value": 5, "unit": "working_day"}},
        "materials": [],
    }
    item.update(extra)
    return item


def _step(sid: str, name: str, role: str) -> dict[str, Any]:
    return {"id": sid, "name": name, "role": role, "limit": {"value": 1, "unit": "working_day"}}


def kinds(data: dict[str, Any]) -> list[str]:
    return [f.kind for f in quality.item("items/a.yaml", data)]


def test_which_items_need_a_decider() -> None:
    no_decider = [_step("accept", "受理", "window"), _step("review", "审核", "reviewer")]
    for kind in ("license", "ruling", "payment"):
        assert kinds(_licence(type=kind, steps=no_decider)) == ["licence-decider"], kind
    # a confirmation registered on the spot, a filing, a public service: no decision to record
    for kind in ("confirmation", "filing", "public_service", "reward", "other_power"):
        assert kinds(_licence(type=kind, steps=no_decider)) == [], kind
    assert kinds(_licence(steps="standard")) == []  # the five standard steps have 批准 by the decider
    assert kinds(_licence(steps=[*no_decider, _step("approve", "批准", "decider")])) == []


def test_the_kind_of_work_comes_from_the_id_and_the_name() -> None:
    assert quality.work_of(_step("review", "材料审查", "x")) == {"review"}  # 审查 alone says nothing
    assert quality.work_of(_step("site_inspect", "查看", "x")) == {"inspect"}
    assert quality.work_of(_step("s2", "审批并制发许可证", "x")) == {"decide", "issue"}
    assert quality.work_of(_step("produce", "制证（省级制证中心）", "x")) == set()
    # a step that is two kinds of work is fine for a role that does either
    assert kinds(_licence(steps=[_step("decide", "审核确认", "decider")])) == []
    assert (
        kinds(_licence(steps=[_step("accept", "现场（网上）确认、受理", "window"), _step("d", "批准", "decider")]))
        == []
    )
    found = quality.item("items/a.yaml", _licence(steps=[_step("decide", "批准", "reviewer")]))
    assert [(f.kind, f.path) for f in found] == [("licence-decider", ("steps",)), ("step-role", ("steps", 0, "role"))]


def test_natural_days_need_a_basis_other_than_the_licensing_law() -> None:
    natural = {"legal": {"value": 7, "unit": "natural_day"}, "promised": {"value": 3, "unit": "working_day"}}
    assert kinds(_licence(time_limit=natural)) == ["natural-days"]
    licensing = {**natural, "legal_basis": [{"law": "中华人民共和国行政许可法", "article": "第四十二条"}]}
    assert kinds(_licence(time_limit=licensing)) == ["natural-days"]
    building = {**natural, "legal_basis": [{"law": "中华人民共和国建筑法（2019年修正）", "article": "第八条第二款"}]}
    assert kinds(_licence(time_limit=building)) == []
    # the Licensing Law's own extension (Art. 42: 十日) is in working days too
    extension = {**building, "extension": {"limit": {"value": 10, "unit": "natural_day"}}}
    assert kinds(_licence(time_limit=extension)) == []  # the item's limits come from the Building Law
    ext_only = {
        "legal": {"value": 20, "unit": "working_day"},
        "promised": {"value": 5, "unit": "working_day"},
        "extension": {"limit": {"value": 10, "unit": "natural_day"}},
    }
    found = quality.item("items/a.yaml", _licence(time_limit=ext_only))
    assert [f.path for f in found] == [("time_limit", "extension", "limit", "unit")]
    assert kinds(_licence(type="filing", time_limit=natural)) == []  # Art. 82 is about licences


def _procedure(counts: bool, note: str) -> dict[str, Any]:
    return {
        "kind": "hearing",
        "name": "听证",
        "max": {"value": 5, "unit": "working_day"},
        "counts_toward_limit": counts,
        "note": note,
    }


@pytest.mark.parametrize(
    ("counts", "note", "contradicts"),
    [
        (True, "听证时间不计入办理时限。", True),
        (True, "听证期间暂停计时。", True),
        (False, "公示在受理前完成，不暂停本事项计时。", True),
        (False, "现场评定包含在十五日法定时限内。", True),
        (False, "听证时间不计算在法定时限内。", False),
        (True, "现场勘查计入办理时限。", False),
        (False, "是否计入各地做法不一，此处按不计入处理。", False),  # 是否计入 asks
        (True, "一般不计入，但本市规定计入办理时限。", False),  # says both: not judged
        (True, "最长时间为示意值。", False),
    ],
)
def test_special_procedure_notes(counts: bool, note: str, contradicts: bool) -> None:
    found = kinds(_licence(special_procedures=[_procedure(counts, note)]))
    assert found == (["note-contradiction"] if contradicts else [])


@pytest.mark.parametrize(
    ("material", "contradicts"),
    [
        ({"originals": 1, "note": "无需原件，上传扫描件即可。"}, True),
        ({"originals": 1, "note": "通过电子证照共享获取的免交原件。"}, False),  # a condition
        ({"originals": 1, "note": "在线办理时通过实名认证核验，免交原件。"}, False),  # a condition first
        ({"originals": 0, "note": "无需原件。"}, False),
        ({"copies": 1, "note": "免交复印件。"}, True),
        ({"paper": True, "note": "无需纸质材料。"}, True),
        ({"paper": False, "note": "无需纸质材料。"}, False),
    ],
)
def test_material_notes(material: dict[str, Any], contradicts: bool) -> None:
    found = kinds(_licence(materials=[{"id": "m", "name": "材料", "required": True, **material}]))
    assert found == (["note-contradiction"] if contradicts else [])


# --- a file that fails its schema still has its references judged ---------------------------


def copy(name: str, tmp_path: Path) -> Path:
    dest = tmp_path / name
    shutil.copytree(FIXTURES / name, dest)
    return dest


def test_a_schema_error_does_not_hide_an_unknown_department_and_the_cache_follows_the_center(
    tmp_path: Path,
) -> None:
    cat = copy("schema-and-references", tmp_path)
    cache = tmp_path / "cache"
    first = load(cat, FileCache(cat, cache), full=False)
    a = [p.kind for p in first.problems if p.file == "items/a.yaml"]
    assert "unknown-key" in a and "unknown-department" in a
    # the department is added to center.yaml: the unchanged item's cached facts are judged again
    center = cat / "center.yaml"
    center.write_text(
        center.read_text(encoding="utf-8") + '  - {id: amx, name: 示例县另一部门, window: "3"}\n', encoding="utf-8"
    )
    again = load(cat, FileCache(cat, cache), full=False)
    a = [p.kind for p in again.problems if p.file == "items/a.yaml"]
    assert "unknown-department" not in a and "unknown-key" in a
    # the unknown key is fixed: the item is valid now, and checked in full
    item = cat / "items" / "a.yaml"
    item.write_text(item.read_text(encoding="utf-8").replace("departmnt_note: 市场监管\n", ""), encoding="utf-8")
    fixed = load(cat, FileCache(cat, cache), full=False)
    assert [p.kind for p in fixed.problems if p.file == "items/a.yaml"] == [
        "unknown-form-section",
        "duplicate-material",
        "unknown-item",
    ]


_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(["amr", "amx", "", "QQ-A-001", "申请书"])
)
_value = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["id", "schedule", "sections", "produced_by", "name"]), inner, max_size=3),
    ),
    max_leaves=8,
)
_hostile = st.fixed_dictionaries(
    {},
    optional={
        key: _value
        for key in ("code", "department", "joint_departments", "form", "fee", "materials", "steps", "time_limit")
    },
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_hostile)
def test_references_of_any_shape_never_crash_and_name_only_text(data: dict[str, Any]) -> None:
    refs = partial.references(data, [])
    for _, path, value in refs:
        node: Any = data
        for part in path:
            node = node[part]
        assert node == value and isinstance(value, str)
    # an error at a reference, or at a part holding it, leaves the reference out
    blocked = partial.references(data, [(path, "type") for _, path, _ in refs])
    assert blocked == []
    assert partial.references(data, [((), "missing-key")]) == refs  # a missing key beside it does not


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_hostile)
def test_a_hostile_item_is_checked_without_a_crash(data: dict[str, Any], tmp_path_factory: Any) -> None:
    cat = tmp_path_factory.mktemp("hostile")
    shutil.copy(FIXTURES / "enum" / "center.yaml", cat / "center.yaml")
    (cat / "items").mkdir()
    (cat / "items" / "a.yaml").write_text(json.dumps(data, ensure_ascii=False) or "{}", encoding="utf-8")
    result = load(cat)  # never raises
    assert not result.ok  # a hostile item lacks required keys


# --- the schema's own descriptions give the Chinese names -----------------------------------


def test_chinese_enum_labels_follow_the_schema_descriptions(tmp_path: Path) -> None:
    schema_dir = tmp_path / "schema"
    shutil.copytree(schemas.SCHEMA_DIR, schema_dir)
    common = schema_dir / "common.schema.json"
    text = common.read_text(encoding="utf-8")
    assert "working_day 工作日" in text
    common.write_text(text.replace("working_day 工作日", "working_day 工作天"), encoding="utf-8")
    item = parse((FIXTURES / "enum" / "items" / "a.yaml").read_bytes()).data
    item["type"] = "license"
    item["time_limit"]["legal"]["unit"] = "工作天"
    [error] = schemas.Schema("item", schema_dir).errors(item)
    assert error.message.endswith("did you mean 'working_day' (工作天)?")
    [error] = schemas.compiled("item").errors(item)  # the repository's schema does not call it that
    assert "did you mean" not in error.message
