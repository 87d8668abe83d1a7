"""Five-level catalogues (engine.catalogue.overlay): a child extends its parent, overrides only what it changes,
withdraws with a reason, and cannot break the parent's rules — each reported at both locations.

tests/fixtures/overlays/stack/ is a province and a city that extends it; every folder under
tests/fixtures/overlays/cases/ is a county extending that city, with the exact lines
``yangguang check`` must print in expected.txt (add a folder to add a case).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.catalogue.merge import merge
from engine.check.pipeline import load
from engine.cli.main import main

REPO = Path(__file__).resolve().parents[3]
OVERLAYS = Path(__file__).resolve().parents[2] / "fixtures" / "overlays"
CASES = sorted(p for p in (OVERLAYS / "cases").iterdir() if p.is_dir())


def expected(case: Path) -> list[str]:
    return [line for line in (case / "expected.txt").read_text(encoding="utf-8").splitlines() if line]


@pytest.mark.parametrize("case", CASES, ids=[p.name for p in CASES])
def test_case_reports_exactly_the_expected_lines(case: Path) -> None:
    result = load(case)
    assert [p.render() for p in result.problems] == expected(case)
    assert result.ok == (not expected(case))


def test_every_overlay_rule_has_a_case_that_names_both_locations() -> None:
    lines = [line for case in CASES for line in expected(case)]
    kinds = {line.split("error[", 1)[1].split("]", 1)[0] for line in lines}
    assert {
        "time-limit",
        "overlay-fixed",
        "overlay-fee",
        "overlay-material",
        "overlay-chain",
        "duplicate-code",
        "extends",
        "extends-level",
        "overlay",
        "unknown-item",
        "chain-critical-path",
    } <= kinds
    # the child's line first, the parent's line in brackets
    for kind in (
        "time-limit",
        "overlay-fixed",
        "overlay-fee",
        "overlay-material",
        "overlay-chain",
        "chain-critical-path",
    ):
        line = next(ln for ln in lines if f"error[{kind}]" in ln)
        assert "../../stack/" in line.split(": error[")[1], line
        assert not line.startswith("../"), line


def test_json_output_lists_the_parent_location(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(OVERLAYS / "cases" / "promised-over-legal"), "--format", "json", "--no-cache"]) == 1
    problem = next(p for p in json.loads(capsys.readouterr().out) if p["kind"] == "time-limit")
    assert problem["file"] == "overrides/P-HRSS-001.yaml" and problem["line"] == 4
    assert problem["related"] == [
        {"file": "../../stack/province/items/benefit.yaml", "line": 28, "column": 12, "label": "legal limit"}
    ]


def test_a_clean_county_inherits_overrides_adds_and_withdraws() -> None:
    result = load(OVERLAYS / "cases" / "clean")
    assert result.ok, [p.render() for p in result.problems]
    cat = result.catalogue
    assert set(cat.items) == {"P-HRSS-001", "C-PSB-002"}
    assert cat.withdrawn == {"P-PSB-001": ("本县不办理刻章备案。", "center.yaml")}
    item = cat.items["P-HRSS-001"].data
    # three layers on one item: the province's file, the city's override, the county's override
    assert item["time_limit"]["promised"] == {"value": 3, "unit": "working_day", "note": "市承诺 3 个工作日。"}
    assert item["location"] == {"address": "市政务服务中心 D 区", "window": "X1"}
    proof = next(m for m in item["materials"] if m["id"] == "separation_proof")
    assert proof["note"].startswith("本县可凭") and proof["required"] is True
    assert cat.patches["P-HRSS-001"] == ["overrides/P-HRSS-001.yaml", "../../stack/city/overrides/P-HRSS-001.yaml"]
    # the center: the county's own facts, departments replaced by id, the rest inherited
    assert cat.center is not None and cat.center["id"] == "county"
    depts = {d["id"]: d["name"] for d in cat.center["departments"]}
    assert depts == {"hrss": "市人社局", "psb": "省公安厅"}
    assert "extends" not in cat.center and "withdraw" not in cat.center
    assert "child_rules" not in cat.center  # the province's rules bind the layers below it, not a copy
    assert [layer.prefix for layer in cat.layers] == ["", "../../stack/city", "../../stack/province"]
    assert cat.sources[0] == (OVERLAYS / "cases" / "clean").resolve()


def test_the_version_is_a_content_hash_over_every_layer(tmp_path: Path) -> None:
    shutil.copytree(OVERLAYS / "stack", tmp_path / "stack")
    shutil.copytree(OVERLAYS / "cases" / "clean", tmp_path / "cases" / "clean")
    before = load(tmp_path / "cases" / "clean").catalogue.version
    assert load(tmp_path / "cases" / "clean").catalogue.version == before
    parent_item = tmp_path / "stack" / "province" / "items" / "seal.yaml"
    parent_item.write_text(parent_item.read_text(encoding="utf-8").replace("公章刻制备案", "公章刻制（备案）"), "utf-8")
    assert load(tmp_path / "cases" / "clean").catalogue.version != before


def test_merge_matches_lists_by_id_and_records_where_each_value_came_from() -> None:
    base = {"a": 1, "materials": [{"id": "x", "name": "X", "required": True}, {"id": "y", "name": "Y"}]}
    patch = {"materials": [{"id": "y", "remove": True}, {"id": "z", "name": "Z"}, {"id": "x", "name": "X2"}]}
    origins: dict = {}
    merged = merge(base, patch, base_origins={}, base_file="p.yaml", patch_file="c.yaml", patch_at=(), origins=origins)
    assert merged == {"a": 1, "materials": [{"id": "x", "name": "X2", "required": True}, {"id": "z", "name": "Z"}]}
    assert base["materials"][1] == {"id": "y", "name": "Y"}  # the parent's data is never changed
    from engine.catalogue.merge import lookup

    assert lookup(origins, "p.yaml", ("materials", 0, "name")) == ("c.yaml", ("materials", 2, "name"))
    assert lookup(origins, "p.yaml", ("materials", 0, "required")) == ("p.yaml", ("materials", 0, "required"))
    assert lookup(origins, "p.yaml", ("materials", 1)) == ("c.yaml", ("materials", 1))
    assert lookup(origins, "p.yaml", ("a",)) == ("p.yaml", ("a",))


def test_explain_names_the_layer_and_line_of_each_value(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "P-HRSS-001", "--explain", "--catalog", str(OVERLAYS / "cases" / "clean")]) == 0
    out = capsys.readouterr().out
    lines = {line.split("#")[0].strip(): line.split("# ", 1)[1] for line in out.splitlines() if "  # " in line}
    assert lines["window: X1"] == "county (county 县)  overrides/P-HRSS-001.yaml:3"
    assert lines["address: 市政务服务中心 D 区"] == "city (city 市)  ../../stack/city/overrides/P-HRSS-001.yaml:5"
    assert lines["code: P-HRSS-001"] == "hlj (province 省)  ../../stack/province/items/benefit.yaml:1"
    assert "override: ../../stack/city/overrides/P-HRSS-001.yaml" in out
    # an entry matched by id keeps the parent's id line; only what the override wrote is the county's
    assert lines["id: separation_proof"] == "hlj (province 省)  ../../stack/province/items/benefit.yaml:101"
    assert next(v for k, v in lines.items() if k.startswith("note: 本县可凭")) == (
        "county (county 县)  overrides/P-HRSS-001.yaml:6"
    )


def test_show_says_why_an_item_is_withdrawn(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "P-PSB-001", "--catalog", str(OVERLAYS / "cases" / "clean")]) == 1
    assert "withdrawn here by center.yaml: 本县不办理刻章备案。" in capsys.readouterr().err


@pytest.mark.parametrize("example", ["county", "village"])
def test_the_worked_examples_check_clean(example: str) -> None:
    result = load(REPO / "examples" / example)
    assert result.ok, [p.render() for p in result.problems]
    cat = result.catalogue
    reference = load(REPO).catalogue
    assert "QQ-EDUCATION-XK-101" not in cat.items and "QQ-EDUCATION-XK-101" in reference.items
    assert cat.items["QQ-REALESTATE-DJ-101"].data["time_limit"]["promised"]["value"] == 3
    assert reference.items["QQ-REALESTATE-DJ-101"].data["time_limit"]["promised"]["value"] == 5
    assert "YA-FORESTRY-XK-001" in cat.items
    assert ("YA-V-DB-001" in cat.items) == (example == "village")
    assert len(cat.layers) == {"county": 2, "village": 3}[example]


def test_a_parent_edit_reaches_the_child_and_a_rule_break_is_reported_in_the_child(tmp_path: Path) -> None:
    """The county never copies the city's files: an update upstream shows up in the county at once."""
    shutil.copytree(OVERLAYS / "stack", tmp_path / "stack")
    shutil.copytree(OVERLAYS / "cases" / "clean", tmp_path / "cases" / "clean")
    parent = tmp_path / "stack" / "province" / "items" / "benefit.yaml"
    text = parent.read_text(encoding="utf-8")
    # the province shortens the legal limit below what the city promises (3 working days)
    shorter = text.replace("    value: 10\n    unit: working_day", "    value: 2\n    unit: working_day", 1)
    parent.write_text(shorter, "utf-8")
    result = load(tmp_path / "cases" / "clean")
    rendered = [p.render() for p in result.problems]
    assert any(
        r.startswith("../../stack/city/overrides/P-HRSS-001.yaml:4:21: error[time-limit]")
        and "[legal limit: ../../stack/province/items/benefit.yaml:28:12]" in r
        for r in rendered
    ), rendered


def test_the_village_serves_its_resolved_catalogue(tmp_path: Path) -> None:
    """`make run CATALOG=examples/village`: the portal shows inherited, overridden and local items."""
    from starlette.testclient import TestClient

    from engine.web.app import create_app

    app = create_app(catalog=REPO / "examples" / "village", db=tmp_path / "v.db", sweep_seconds=0)
    with TestClient(app) as client:
        home = client.get("/")
        assert home.status_code == 200
        assert "依安县示例村便民服务站" in home.text and "城乡居民基本养老保险参保登记（代办）" in home.text
        withdrawn = client.get("/items/QQ-EDUCATION-XK-101")  # withdrawn by the county: says why
        assert withdrawn.status_code == 404 and "本中心不办理此事项" in withdrawn.text
        assert "高级中学、中等职业学校教师资格由市教育局认定" in withdrawn.text
        apply = client.get("/apply/QQ-EDUCATION-XK-101")  # the application form says the same, in its language
        assert apply.status_code == 404 and "高级中学、中等职业学校教师资格由市教育局认定" in apply.text
        assert "本中心不办理此事项（QQ-EDUCATION-XK-101）" in apply.text and "This center" not in apply.text
        english = client.get("/apply/QQ-EDUCATION-XK-101", headers={"Accept-Language": "en"})
        assert english.status_code == 404 and "高级中学、中等职业学校教师资格由市教育局认定" in english.text
        assert "This center does not offer this item (QQ-EDUCATION-XK-101)" in english.text
        assert "本中心不办理此事项" not in english.text
        guide = client.get("/items/QQ-REALESTATE-DJ-101")
        assert guide.status_code == 200
        assert "依安县政务服务中心 B 区" in guide.text and "依安县不动产登记中心" in guide.text
        assert client.get("/items/YA-FORESTRY-XK-001").status_code == 200
        assert client.get("/apply/YA-V-DB-001").status_code in (200, 302, 303)


def test_check_names_the_layers_it_resolved(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(REPO / "examples" / "village"), "--no-cache"]) == 0
    out = capsys.readouterr().out
    village = "yian-sample-village (village 村（社区）) ."
    county, city = "yian (county 县) ../county", "qiqihar (city 市) ../.."
    assert f"layers: {village} ← {county} ← {city}" in out
    assert "3 item(s) overridden, 1 withdrawn" in out


def test_an_override_of_a_broken_parent_item_points_at_the_broken_file(tmp_path: Path) -> None:
    shutil.copytree(OVERLAYS / "stack", tmp_path / "stack")
    shutil.copytree(OVERLAYS / "cases" / "clean", tmp_path / "cases" / "clean")
    parent = tmp_path / "stack" / "province" / "items" / "benefit.yaml"
    parent.write_text(parent.read_text(encoding="utf-8").replace("type: ", "type: not-a-type-", 1), "utf-8")
    rendered = [p.render() for p in load(tmp_path / "cases" / "clean").problems]
    assert any(r.startswith("../../stack/province/items/benefit.yaml:") for r in rendered), rendered
    assert (
        "overrides/P-HRSS-001.yaml:1:7: error[unknown-item]: overrides/ names 'P-HRSS-001', which is an item whose "
        "file ../../stack/province/items/benefit.yaml has problems (reported there); fix them first"
    ) in rendered
    # withdrawing it says the same
    center = tmp_path / "cases" / "clean" / "center.yaml"
    center.write_text(
        center.read_text(encoding="utf-8") + "  - {code: P-HRSS-001, reason: 本县不办理失业保险金申领。}\n", "utf-8"
    )
    rendered = [p.render() for p in load(tmp_path / "cases" / "clean").problems]
    assert (
        "center.yaml:8:12: error[unknown-item]: cannot withdraw 'P-HRSS-001': it is an item whose file "
        "../../stack/province/items/benefit.yaml has problems (reported there); fix them first"
    ) in rendered, rendered


def test_withdrawing_or_overriding_what_a_parent_already_withdrew_says_who_did(tmp_path: Path) -> None:
    """village → county (withdraws P-PSB-001) → city → province."""
    shutil.copytree(OVERLAYS / "stack", tmp_path / "stack")
    shutil.copytree(OVERLAYS / "cases" / "clean", tmp_path / "cases" / "clean")
    village = tmp_path / "cases" / "village"
    (village / "overrides").mkdir(parents=True)
    (village / "center.yaml").write_text(
        'id: village\nname: 村便民服务站（测试）\nlevel: village\nregion: "230223"\nextends: ../clean\n'
        "withdraw:\n  - {code: P-PSB-001, reason: 本村不办理。}\n",
        "utf-8",
    )
    (village / "overrides" / "P-PSB-001.yaml").write_text(
        'code: P-PSB-001\nreason: 本村代办。\nlocation: {window: "V1"}\n', "utf-8"
    )
    rendered = [p.render() for p in load(village).problems]
    assert rendered == [
        "center.yaml:7:12: error[unknown-item]: cannot withdraw 'P-PSB-001': it is withdrawn by "
        "../clean/center.yaml (本县不办理刻章备案。); delete this entry",
        "overrides/P-PSB-001.yaml:1:7: error[unknown-item]: overrides/ names 'P-PSB-001', which is withdrawn by "
        "../clean/center.yaml (本县不办理刻章备案。); delete this override",
    ]


def test_a_local_fee_schedule_that_misfits_the_inherited_form_is_reported_in_the_schedule(tmp_path: Path) -> None:
    """The parent allows local fee schedules; the county's own schedule charges by an option the
    inherited item's form does not offer: the county's file is at fault, not the parent's item."""
    from tests.support import copy_catalogue

    city = copy_catalogue(tmp_path / "city")
    center = city / "center.yaml"
    center.write_text(
        center.read_text(encoding="utf-8").replace("local_fee_schedules: false", "local_fee_schedules: true"), "utf-8"
    )
    county = tmp_path / "county"
    (county / "fees").mkdir(parents=True)
    (county / "center.yaml").write_text(
        'id: county\nname: 县政务服务中心（测试）\nlevel: county\nregion: "230223"\nextends: ../city\n', "utf-8"
    )
    schedule = (REPO / "fees" / "resident-id-card.yaml").read_text(encoding="utf-8")
    local = schedule.replace(
        "      - {value: temporary, label: 申领临时居民身份证}\n",
        "      - {value: temporary, label: 申领临时居民身份证}\n      - {value: express, label: 加急（本县）}\n",
    )
    assert local != schedule
    (county / "fees" / "resident-id-card.yaml").write_text(local, "utf-8")
    rendered = [p.render() for p in load(county).problems]
    assert len(rendered) == 1, rendered
    assert rendered[0].startswith("fees/resident-id-card.yaml:23:5: error[unknown-option]: this fee schedule charges")
    assert "idcard.application_type = express" in rendered[0]
    assert "[item: ../city/items/psb/resident-id-card-renewal-replacement.yaml:" in rendered[0]


def test_explain_works_on_a_catalogue_with_problems(capsys: pytest.CaptureFixture[str]) -> None:
    """The promise under the steps breaks a rule: --explain still shows which layer set each value."""
    case = str(OVERLAYS / "cases" / "promise-under-steps")
    assert main(["show", "P-HRSS-001", "--explain", "--catalog", case]) == 0
    captured = capsys.readouterr()
    assert "note: the catalogue has 1 problem(s)" in captured.err
    line = next(ln for ln in captured.out.splitlines() if ln.strip().startswith("value: 1 "))
    assert line.endswith("county (county 县)  overrides/P-HRSS-001.yaml:4")
    # an item whose own override is broken is named with its file's problems
    assert main(["show", "P-HRSS-001", "--explain", "--catalog", str(OVERLAYS / "cases" / "steps-removed")]) == 1
    err = capsys.readouterr().err
    assert "overrides/P-HRSS-001.yaml:4:3: error[range]" in err and "is left out of the catalogue" in err


@pytest.mark.parametrize("extends", ['"../stack/city\\0"', "../stack/" + "a" * 300, "loop/a"])
def test_an_extends_the_system_cannot_follow_is_an_error_not_a_traceback(tmp_path: Path, extends: str) -> None:
    county = tmp_path / "county"
    county.mkdir()
    (county / "loop").symlink_to("loop")
    (county / "center.yaml").write_text(
        f'id: county\nname: 县政务服务中心（测试）\nlevel: county\nregion: "230223"\nextends: {extends}\n', "utf-8"
    )
    [problem] = load(county).problems
    assert problem.render().startswith("center.yaml:5:10: error[extends]: extends ")
    # a name too long is "no such directory" where Python's is_file() swallows ENAMETOOLONG
    assert "is not a usable path" in problem.message or "is no such directory" in problem.message


def test_withdrawing_an_item_parent_items_name_as_producer_is_one_problem_at_the_withdrawal(tmp_path: Path) -> None:
    from tests.support import copy_catalogue

    city = copy_catalogue(tmp_path / "city")
    county = city / "examples" / "county"
    shutil.copytree(REPO / "examples" / "county", county)
    center = county / "center.yaml"
    text = center.read_text(encoding="utf-8")
    assert "withdraw:\n" in text
    entry = "  - {code: QQ-NR-XK-003, reason: 测试撤回用地规划许可。}\n"
    center.write_text(text.replace("withdraw:\n", "withdraw:\n" + entry, 1), "utf-8")
    rendered = [p.render() for p in load(county).problems]
    mine = [r for r in rendered if "error[unknown-item]" in r]
    assert len(mine) == 1, rendered
    # the same from the cache (`yangguang check`, items' data left in the cache)
    import os

    from engine.catalogue.cache import FileCache

    for path in tmp_path.rglob("*.yaml"):
        os.utime(path, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    for _ in range(2):
        again = load(county, FileCache(county, tmp_path / "cache"), full=False)
        assert [p.render() for p in again.problems] == rendered
    assert mine[0].startswith("center.yaml:") and "QQ-GAS-GG-001" in mine[0] and "[produced_by: ../../items/" in mine[0]
    assert not any(r.startswith("../") for r in rendered), rendered


def test_a_parent_center_that_cannot_be_read_is_the_one_problem_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The layers above it are unknown, so nothing that depends on them is judged until it is fixed."""
    shutil.copytree(OVERLAYS / "stack", tmp_path / "stack")
    shutil.copytree(OVERLAYS / "cases" / "clean", tmp_path / "cases" / "clean")
    center = tmp_path / "stack" / "city" / "center.yaml"
    center.write_text(center.read_text(encoding="utf-8").replace('window: "D01"}', 'window: "D01"'), "utf-8")
    rendered = [p.render() for p in load(tmp_path / "cases" / "clean").problems]
    assert len(rendered) == 1 and rendered[0].startswith("../../stack/city/center.yaml:"), rendered
    assert "error[yaml-syntax]" in rendered[0]
    # --explain names the file to fix rather than saying there is no such item
    assert main(["show", "P-HRSS-001", "--explain", "--catalog", str(tmp_path / "cases" / "clean")]) == 1
    err = capsys.readouterr().err
    assert "../../stack/city/center.yaml cannot be followed to its parent" in err and "error[yaml-syntax]" in err


def test_form_sections_merge_by_id_reusable_by_name_inline_by_id() -> None:
    item = load(OVERLAYS / "cases" / "mixed-sections").catalogue.items["P-PSB-001"].data
    parent = load(OVERLAYS / "stack" / "province").catalogue.items["P-PSB-001"].data
    sections = item["form"]["sections"]
    assert sections[0] == "applicant" and "contact" not in sections and len(sections) == 2
    assert sections[1]["title"] == "印章信息（县）" and sections[1]["fields"] == parent["form"]["sections"][2]["fields"]


def test_a_parent_center_that_fails_its_schema_is_the_one_problem_reported(tmp_path: Path) -> None:
    """Its departments and rules are unknown: no follow-on unknown-department for every inherited item."""
    shutil.copytree(OVERLAYS / "stack", tmp_path / "stack")
    shutil.copytree(OVERLAYS / "cases" / "clean", tmp_path / "cases" / "clean")
    center = tmp_path / "stack" / "province" / "center.yaml"
    text = center.read_text(encoding="utf-8")
    center.write_text(text.replace("basis, type, fee]", "basis, type, fee, location]"), "utf-8")
    rendered = [p.render() for p in load(tmp_path / "cases" / "clean").problems]
    assert len(rendered) == 1 and rendered[0].startswith("../../stack/province/center.yaml:"), rendered
    assert "error[enum]" in rendered[0]
