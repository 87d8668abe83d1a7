"""`yangguang edit` and `yangguang new item --like`: only the edited lines change, and an edit
that would break the catalogue writes nothing."""

from __future__ import annotations

import argparse
import difflib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.authoring import edit as lib
from engine.authoring import editing, yaml_edit
from engine.authoring import new_item as scaffold
from engine.catalogue.cache import FileCache
from engine.catalogue.model import Catalogue, CheckResult, Document
from engine.check.pipeline import load
from engine.cli.edit import NAME_MARK, add_parsers
from engine.cli.errors import UserError

REPO = Path(__file__).resolve().parents[3]
PARTS = ("center.yaml", "items", "fees", "forms", "chains", "calendar")
SEAL = "items/psb/seal-engraving-filing.yaml"  # QQ-PSB-BA-001: flow-style time limits, in a chain
RESALE = "items/realestate/transfer-registration-resale-housing.yaml"  # QQ-REALESTATE-DJ-102: block style
FEE = "fees/realestate-registration.yaml"


@pytest.fixture
def catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "catalogue"
    root.mkdir()
    for part in PARTS:
        src = REPO / part
        if src.is_dir():
            shutil.copytree(src, root / part)
        else:
            shutil.copy2(src, root / part)
    monkeypatch.setenv("YANGGUANG_CACHE_DIR", str(tmp_path / "cache"))
    # Comments an administrator wrote: every edit must keep them where they are.
    text = (root / RESALE).read_text(encoding="utf-8")
    text = text.replace("time_limit:\n", "time_limit:  # 时限（2024 年核定）\n", 1)
    text = text.replace("materials:\n", "materials:\n  # 材料按受理顺序排列\n", 1)
    text = text.replace(
        "    note: 境外当事人的委托书须经公证或认证。\nsteps:",
        "    note: 境外当事人的委托书须经公证或认证。\n    # 材料到此为止\n\nsteps:",
    )
    (root / RESALE).write_text(text, encoding="utf-8")
    return root


def run(root: Path, *argv: str) -> int:
    p = argparse.ArgumentParser(prog="yangguang")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--catalog", type=Path, default=REPO)
    add_parsers(p.add_subparsers(dest="command", required=True), common)
    args = p.parse_args([*argv, "--catalog", str(root)])
    code: int = args.func(args)
    return code


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """(removed lines, added lines) of a line diff."""
    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(), after.splitlines()):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


def checks_clean(root: Path) -> None:
    result = load(root, FileCache(root), full=False)
    assert result.ok, [p.render() for p in result.problems]


def test_set_promised_limit_changes_that_line_only(catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (catalog / RESALE).read_bytes()
    assert run(catalog, "edit", "QQ-REALESTATE-DJ-102", "set", "time_limit.promised", "5") == 0
    after = (catalog / RESALE).read_bytes()
    assert changed_lines(before.decode(), after.decode()) == (["    value: 1"], ["    value: 5"])
    assert after == before.replace(b"  promised:\n    value: 1\n", b"  promised:\n    value: 5\n")
    assert "# 时限（2024 年核定）" in after.decode() and "# 材料到此为止" in after.decode()
    out = capsys.readouterr().out
    assert out.startswith(f"edited {RESALE}\n") and "-    value: 1\n+    value: 5\n" in out
    checks_clean(catalog)
    assert load(catalog).catalogue.items["QQ-REALESTATE-DJ-102"].data["time_limit"]["promised"]["value"] == 5


def test_set_inside_flow_mappings_and_quoted_text(catalog: Path) -> None:
    before = (catalog / SEAL).read_text(encoding="utf-8")
    editing.edit(catalog, "QQ-PSB-BA-001", lib.SetValue("steps.accept.limit.value", lib.value("20")))
    editing.edit(catalog, "QQ-PSB-BA-001", lib.SetValue("location.window", lib.value('"0230"')))
    removed, added = changed_lines(before, (catalog / SEAL).read_text(encoding="utf-8"))
    assert removed == [
        "  - {id: accept, name: 受理并备案, role: window, limit: {value: 30, unit: minute}}",
        'location: {address: 齐齐哈尔市政务服务中心 D 区, window: "D01"}',
    ]
    assert added == [
        "  - {id: accept, name: 受理并备案, role: window, limit: {value: 20, unit: minute}}",
        'location: {address: 齐齐哈尔市政务服务中心 D 区, window: "0230"}',
    ]
    checks_clean(catalog)


def test_add_and_remove_material_touch_only_those_lines(catalog: Path) -> None:
    original = (catalog / RESALE).read_text(encoding="utf-8")
    new = "{id: marriage_statement, name: 婚姻状况书面声明, kind: document, required: true, formats: [pdf]}"
    assert run(catalog, "edit", "QQ-REALESTATE-DJ-102", "add", "material", new) == 0
    added_text = (catalog / RESALE).read_text(encoding="utf-8")
    removed, added = changed_lines(original, added_text)
    assert removed == []
    assert added == [
        "  - id: marriage_statement",
        "    name: 婚姻状况书面声明",
        "    kind: document",
        "    required: true",
        "    formats: [pdf]",
    ]
    # Right after the last material, above the comment that closes the list.
    assert "    note: 境外当事人的委托书须经公证或认证。\n  - id: marriage_statement\n" in added_text
    assert "    formats: [pdf]\n    # 材料到此为止\n" in added_text
    checks_clean(catalog)

    assert run(catalog, "edit", "QQ-REALESTATE-DJ-102", "remove", "material", "marriage_statement") == 0
    assert (catalog / RESALE).read_text(encoding="utf-8") == original

    assert run(catalog, "edit", "QQ-REALESTATE-DJ-102", "remove", "material", "co_owner_consent") == 0
    removed, added = changed_lines(original, (catalog / RESALE).read_text(encoding="utf-8"))
    assert added == [] and removed[0] == "  - id: co_owner_consent" and len(removed) == 10
    checks_clean(catalog)


def test_add_material_after_an_entry_from_a_file(catalog: Path, tmp_path: Path) -> None:
    entry = tmp_path / "photo.yaml"
    entry.write_text("# 新材料\nid: photo\nname: 近期免冠照片\nrequired: false\n", encoding="utf-8")
    original = (catalog / SEAL).read_text(encoding="utf-8")
    assert run(catalog, "edit", "QQ-PSB-BA-001", "add", "material", "--from", str(entry), "--after", "rep_id") == 0
    text = (catalog / SEAL).read_text(encoding="utf-8")
    assert changed_lines(original, text) == ([], ["  - id: photo", "    name: 近期免冠照片", "    required: false"])
    assert (
        "    source: applicant\n  - id: photo\n    name: 近期免冠照片\n    required: false\n  - id: agent_authorisation"
        in text
    )


def test_fee_line_amount(catalog: Path) -> None:
    before = (catalog / FEE).read_text(encoding="utf-8")
    assert run(catalog, "edit", "realestate-registration", "set", "lines.residential.amount", "100") == 0
    assert changed_lines(before, (catalog / FEE).read_text(encoding="utf-8")) == (
        ["    amount: 80"],
        ["    amount: 100"],
    )
    checks_clean(catalog)
    assert load(catalog).catalogue.fees["realestate-registration"].data["lines"][0]["amount"] == 100
    # A per_unit line charges a rate; `amount` is refused with the key it has instead.
    with pytest.raises(UserError, match="per_unit line, which has no 'amount'; its money is 'rate'"):
        run(catalog, "edit", "realestate-registration", "set", "lines.certificate.amount", "100")
    assert run(catalog, "edit", "fee:realestate-registration", "set", "lines.certificate.rate", '"12.50"') == 0
    assert '    rate: "12.50"\n' in (catalog / FEE).read_text(encoding="utf-8")
    checks_clean(catalog)


@pytest.mark.parametrize(
    ("target", "argv", "file", "expected"),
    [
        (
            "QQ-REALESTATE-DJ-102",
            ("set", "time_limit.promised", "31"),
            RESALE,
            "error[time-limit]: promised limit 31 working days is longer than the legal limit 30 working days",
        ),
        ("QQ-PSB-BA-001", ("set", "materials.rep_id.kind", "idenity"), SEAL, "error[enum]"),
        # exemptions name the line in applies_to
        ("realestate-registration", ("remove", "line", "residential"), FEE, "error[unknown-line]"),
        # conditions in the fee schedule and in items name the field realestate.use
        ("form:realestate", ("remove", "field", "use"), "forms/realestate.yaml", "error[unknown-field]"),
    ],
)
def test_an_edit_that_breaks_the_catalogue_writes_nothing(
    catalog: Path, capsys: pytest.CaptureFixture[str], target: str, argv: tuple[str, ...], file: str, expected: str
) -> None:
    before = {p: p.read_bytes() for p in catalog.rglob("*.yaml")}
    with pytest.raises(UserError) as err:
        run(catalog, "edit", target, *argv)
    message = str(err.value)
    assert expected in message and message.endswith("nothing was written")
    line = next(x for x in message.splitlines() if expected in x)
    path, lineno, col, _ = line.split(":", 3)
    assert lineno.isdigit() and col.isdigit() and (catalog / path).is_file()
    assert {p: p.read_bytes() for p in catalog.rglob("*.yaml")} == before
    assert capsys.readouterr().out.startswith(f"refused: {file} would change as below")


def test_a_broken_edit_names_the_problem_where_the_file_would_have_it(catalog: Path) -> None:
    with pytest.raises(lib.EditRefused) as err:
        editing.edit(catalog, "QQ-PSB-BA-001", lib.SetValue("materials.rep_id.kind", lib.value("idenity")))
    problem = next(p for p in err.value.outcome.new_problems if p.kind == "enum")
    assert (problem.file, problem.line, problem.column) == (SEAL, 75, 11)
    assert "did you mean 'identity'?" in problem.message
    assert (catalog / SEAL).read_text(encoding="utf-8").splitlines()[74] == "    kind: identity"


def test_yaml_1_1_values_are_refused(catalog: Path) -> None:
    before = (catalog / SEAL).read_bytes()
    with pytest.raises(UserError, match=r"VALUE 'yes': plain 'yes' means true in YAML 1\.1"):
        run(catalog, "edit", "QQ-PSB-BA-001", "set", "online.booking", "yes")
    with pytest.raises(UserError, match='quote it as "010"'):
        run(catalog, "edit", "QQ-PSB-BA-001", "set", "visits.max", "010")
    assert (catalog / SEAL).read_bytes() == before


def test_unknown_target_and_path_suggest(catalog: Path) -> None:
    with pytest.raises(UserError, match="did you mean QQ-PSB-BA-001"):
        run(catalog, "edit", "QQ-PSB-BA-01", "set", "visits.max", "1")
    with pytest.raises(UserError, match=r"materials has no entry 'rep_idd'; did you mean rep_id\?"):
        run(catalog, "edit", "QQ-PSB-BA-001", "set", "materials.rep_idd.copies", "1")
    with pytest.raises(UserError, match="the file has no key 'tim_limit'; did you mean time_limit"):
        run(catalog, "edit", "QQ-PSB-BA-001", "set", "tim_limit.promised", "1")
    with pytest.raises(UserError, match="materials has 4 entries, numbered 0 to 3"):
        run(catalog, "edit", "QQ-PSB-BA-001", "remove", "material", "7")
    with pytest.raises(UserError, match="already has an entry with id 'rep_id'"):
        run(catalog, "edit", "QQ-PSB-BA-001", "add", "material", "{id: rep_id, name: 重复材料, required: true}")


def test_dry_run_prints_the_diff_and_writes_nothing(catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (catalog / FEE).read_bytes()
    assert run(catalog, "edit", "realestate-registration", "set", "lines.residential.amount", "90", "--dry-run") == 0
    out = capsys.readouterr().out
    assert out.startswith("dry run:") and "nothing was written" in out and "+    amount: 90\n" in out
    assert (catalog / FEE).read_bytes() == before


def test_edits_allowed_on_a_catalogue_with_problems_if_they_add_none(catalog: Path) -> None:
    bad = (catalog / SEAL).read_text(encoding="utf-8").replace("kind: identity", "kind: idenity")
    (catalog / SEAL).write_text(bad, encoding="utf-8")
    outcome = editing.edit(catalog, "QQ-REALESTATE-DJ-102", lib.SetValue("visits.max", lib.value("2")))
    assert outcome.written and outcome.pre_existing >= 1
    # The broken item itself can be edited, to fix it.
    fixed = editing.edit(catalog, "QQ-PSB-BA-001", lib.SetValue("materials.rep_id.kind", lib.value("identity")))
    assert fixed.written
    checks_clean(catalog)


def test_new_item_like(catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = (catalog / RESALE).read_bytes()
    assert run(catalog, "new", "item", "--like", "QQ-REALESTATE-DJ-102", "--code", "QQ-REALESTATE-DJ-902") == 0
    new = catalog / "items/realestate/qq-realestate-dj-902.yaml"
    out = capsys.readouterr().out
    assert "created items/realestate/qq-realestate-dj-902.yaml" in out and "yangguang check" in out
    assert (catalog / RESALE).read_bytes() == source
    removed, added = changed_lines(source.decode(), new.read_text(encoding="utf-8"))
    assert removed == ["code: QQ-REALESTATE-DJ-102", "name: 不动产转移登记（二手房买卖）"]
    assert added == ["code: QQ-REALESTATE-DJ-902", f"name: 不动产转移登记（二手房买卖）{scaffold.NAME_MARK}"]
    assert "# 材料按受理顺序排列" in new.read_text(encoding="utf-8")
    checks_clean(catalog)
    assert load(catalog).catalogue.items["QQ-REALESTATE-DJ-902"].file == "items/realestate/qq-realestate-dj-902.yaml"


def test_new_item_with_name_department_and_file(catalog: Path) -> None:
    outcome = scaffold.new_item(
        catalog, "QQ-PSB-BA-001", "QQ-PSB-BA-903", name="印章刻制备案（县级）", file="items/local/seal.yaml"
    )
    text = (catalog / "items/local/seal.yaml").read_text(encoding="utf-8")
    assert outcome.file == "items/local/seal.yaml" and "name: 印章刻制备案（县级）\n" in text
    with pytest.raises(lib.EditError, match=r"--department .hous. is not in center\.yaml; did you mean housing"):
        scaffold.new_item(catalog, "QQ-PSB-BA-001", "QQ-PSB-BA-904", department="hous")
    checks_clean(catalog)


def test_building_the_parser_imports_no_library() -> None:
    """`yangguang check` starts as fast as before: ruamel.yaml loads only when an edit runs."""
    code = (
        "import sys, engine.cli.edit; "
        "assert 'ruamel.yaml' not in sys.modules and 'engine.authoring.edit' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=60)
    assert NAME_MARK == scaffold.NAME_MARK


def test_new_item_refuses_an_existing_code_or_file(catalog: Path) -> None:
    with pytest.raises(UserError, match=f"item code QQ-REALESTATE-DJ-102 is already used by {RESALE}"):
        run(catalog, "new", "item", "--like", "QQ-PSB-BA-001", "--code", "QQ-REALESTATE-DJ-102")
    with pytest.raises(UserError, match="already exists"):
        run(catalog, "new", "item", "--like", "QQ-PSB-BA-001", "--code", "QQ-PSB-BA-905", "--file", SEAL)
    with pytest.raises(UserError, match="is not an item code"):
        run(catalog, "new", "item", "--like", "QQ-PSB-BA-001", "--code", "QQ")
    assert not list(catalog.rglob("qq-psb-ba-*.yaml"))


def test_an_inherited_item_is_not_edited(tmp_path: Path) -> None:
    cat = Catalogue(tmp_path, "v")
    cat.items["QQ-PSB-BA-001"] = Document("../city/items/psb/seal.yaml", "item", {"code": "QQ-PSB-BA-001"})
    result = CheckResult(cat, [], 1)
    with pytest.raises(lib.InheritedError) as err:
        lib.target_file(tmp_path, "QQ-PSB-BA-001", result)
    assert str(err.value) == (
        "item QQ-PSB-BA-001 is inherited from ../city/items/psb/seal.yaml; a county changes it with an "
        "override file, overrides/QQ-PSB-BA-001.yaml (yangguang edit writes it, given --reason)"
    )
    # Reading it (new item --like) is fine.
    assert lib.target_file(tmp_path, "QQ-PSB-BA-001", result, for_writing=False).file.startswith("../")


def test_a_county_edits_its_own_items_and_overrides_inherited_ones(catalog: Path) -> None:
    """examples/county extends the reference catalogue (``extends: ../..``) and overrides QQ-CIVIL-QR-101:
    an inherited item's edit goes into the county's override file, never into the city's files."""
    county = catalog / "examples" / "county"
    shutil.copytree(REPO / "examples" / "county", county)
    parent = {p: p.read_bytes() for p in catalog.rglob("*.yaml") if county not in p.parents}
    # inherited as is: a new override file, which needs the reason for the local change
    with pytest.raises(UserError, match=r"needs the reason for the local change: add --reason"):
        run(county, "edit", "QQ-PSB-BA-001", "set", "visits.max", "1")
    assert not (county / "overrides/QQ-PSB-BA-001.yaml").exists()
    assert run(county, "edit", "QQ-PSB-BA-001", "set", "visits.max", "1", "--reason", "本县需到窗口核验一次。") == 0
    created = (county / "overrides/QQ-PSB-BA-001.yaml").read_text(encoding="utf-8")
    assert created.startswith("# yaml-language-server: $schema=../../../schema/override.schema.json\n")
    assert "code: QQ-PSB-BA-001\nreason: 本县需到窗口核验一次。\nvisits:\n  max: 1\n" in created
    # inherited with an override already: only the edited lines of the county's file change
    override = county / "overrides/QQ-CIVIL-QR-101.yaml"
    before = override.read_text(encoding="utf-8")
    assert run(county, "edit", "QQ-CIVIL-QR-101", "set", "materials.village_opinion.copies", "1") == 0
    assert changed_lines(before, override.read_text(encoding="utf-8")) == (["    copies: 0"], ["    copies: 1"])
    assert run(county, "edit", "QQ-CIVIL-QR-101", "set", "materials.income_proof.copies", "3") == 0
    added = changed_lines(before, override.read_text(encoding="utf-8"))[1]
    assert added == ["    copies: 1", "  - id: income_proof", "    copies: 3"]
    # a required material of the city's cannot be dropped: refused, nothing written
    now = override.read_bytes()
    with pytest.raises(UserError, match=r"(?s)overlay-material.*nothing was written"):
        run(county, "edit", "QQ-CIVIL-QR-101", "remove", "material", "application")
    assert override.read_bytes() == now
    # nor the fixed legal limit
    with pytest.raises(UserError, match=r"overlay-fixed"):
        run(county, "edit", "QQ-CIVIL-QR-101", "set", "time_limit.legal", "25")
    assert override.read_bytes() == now
    with pytest.raises(UserError, match=r"fee schedule realestate-registration is inherited from \.\./\.\./fees/"):
        run(county, "edit", "realestate-registration", "set", "lines.residential.amount", "90")
    assert run(county, "edit", "YA-FORESTRY-XK-001", "set", "visits.max", "2") == 0
    assert run(county, "new", "item", "--like", "QQ-PSB-BA-001", "--code", "YA-PSB-BA-001", "--department", "amr") == 0
    assert (county / "items/amr/ya-psb-ba-001.yaml").is_file()
    checks_clean(county)
    resolved = load(county).catalogue
    assert resolved.items["QQ-CIVIL-QR-101"].data["materials"][3]["copies"] == 3
    assert resolved.items["QQ-PSB-BA-001"].data["visits"]["max"] == 1
    assert {p: p.read_bytes() for p in catalog.rglob("*.yaml") if county not in p.parents} == parent


def test_a_village_overrides_what_the_county_already_overrode(catalog: Path) -> None:
    """The village writes its own override; the county's stays as it is."""
    shutil.copytree(REPO / "examples" / "county", catalog / "examples" / "county")
    shutil.copytree(REPO / "examples" / "village", catalog / "examples" / "village")
    village = catalog / "examples" / "village"
    county_file = catalog / "examples/county/overrides/QQ-REALESTATE-DJ-101.yaml"
    county_before = county_file.read_bytes()
    assert run(village, "edit", "QQ-REALESTATE-DJ-101", "set", "location.window", '"1"', "--reason", "村站代收。") == 0
    assert county_file.read_bytes() == county_before
    item = load(village).catalogue.items["QQ-REALESTATE-DJ-101"].data
    assert item["location"] == {"address": "依安县政务服务中心 B 区", "window": "1"}
    assert item["time_limit"]["promised"]["value"] == 3  # the county's override still applies beneath


# -- the text layer, without a catalogue ----------------------------------------------------------


def _apply(text: str, op: str, path: tuple[str | int, ...], value: str | None = None) -> str:
    return yaml_edit.apply(text, yaml_edit.Change(op, path, yaml_edit.value_from_text(value) if value else None))  # type: ignore[arg-type]


def test_line_endings_bom_and_indentation_are_kept() -> None:
    crlf = "\ufeff# c\r\na: 1\r\nb:\r\n  - x\r\n  - y"
    assert _apply(crlf, "insert", ("b", 2), "z") == "\ufeff# c\r\na: 1\r\nb:\r\n  - x\r\n  - y\r\n  - z"
    indentless = "a: 1\nb:\n- k: 1\nc:\n    d: 1\n"
    assert _apply(indentless, "insert", ("b", 1), "{k: 2}") == "a: 1\nb:\n- k: 1\n- k: 2\nc:\n    d: 1\n"
    assert _apply(indentless, "set", ("c", "e"), "2") == "a: 1\nb:\n- k: 1\nc:\n    d: 1\n    e: 2\n"
    assert _apply("a: []\n", "insert", ("a", 0), "{k: 1}") == "a:\n  - k: 1\n"
    folded = "note: >-\n  one\n  two\n\nnext: 1\n"
    assert _apply(folded, "set", ("note",), "three") == "note: >-\n  three\n\nnext: 1\n"
    fee_fields = "fields:\n  realestate.use:\n    label: 类别\n"
    data = {"fields": {"realestate.use": {"label": "类别"}}}
    assert lib.resolve(data, "fields.realestate.use.label") == (("fields", "realestate.use", "label"), True)
    assert _apply(fee_fields, "set", ("fields", "realestate.use", "label"), "用途") == fee_fields.replace(
        "类别", "用途"
    )


def test_every_reference_item_takes_an_edit_on_its_own_lines() -> None:
    """A name change and an added material on every reference item change only those lines."""
    material = yaml_edit.value_from_text("{id: extra_material, name: 补充材料, required: false}")
    for path in sorted((REPO / "items").rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        renamed = yaml_edit.apply(text, yaml_edit.Change("set", ("name",), yaml_edit.plain_value("改名后的事项")))
        assert changed_lines(text, renamed)[1] == ["name: 改名后的事项"], path
        assert len(changed_lines(text, renamed)[0]) == 1, path
        data = lib.file_data(path.read_bytes(), str(path))
        added = yaml_edit.apply(text, yaml_edit.Change("insert", ("materials", len(data["materials"])), material))
        removed, new_lines = changed_lines(text, added)
        assert removed == [] and [x.strip() for x in new_lines] == [
            "- id: extra_material",
            "name: 补充材料",
            "required: false",
        ], path
    for path in sorted([*REPO.glob("fees/*.yaml"), *REPO.glob("forms/*.yaml"), *REPO.glob("chains/*.yaml")]):
        text = path.read_text(encoding="utf-8")
        key = "title" if path.parent.name == "forms" else "name"
        renamed = yaml_edit.apply(text, yaml_edit.Change("set", (key,), yaml_edit.plain_value("新的名称")))
        assert changed_lines(text, renamed)[1] == [f"{key}: 新的名称"] and len(changed_lines(text, renamed)[0]) == 1


def test_an_inherited_items_form_sections_are_changed_by_id(catalog: Path) -> None:
    """form.sections mixes reusable sections (named by id) with inline ones: the override names only
    the sections it changes, by id, and an entry is never replaced in place (refused, nothing written)."""
    county = catalog / "examples" / "county"
    shutil.copytree(REPO / "examples" / "county", county)
    override = county / "overrides/QQ-PSB-BA-001.yaml"
    with pytest.raises(UserError, match=r"does not replace an entry in place: `remove form.sections applicant`"):
        run(county, "edit", "QQ-PSB-BA-001", "set", "form.sections.0", "contact", "--reason", "本县调整表单。")
    assert not override.exists()
    city = load(county).catalogue.items["QQ-PSB-BA-001"].data["form"]["sections"]
    inline = next(e for e in city if isinstance(e, dict))
    assert run(county, "edit", "QQ-PSB-BA-001", "set", f"form.sections.{inline['id']}.title", "县里的标题",
               "--reason", "本县调整表单。") == 0  # fmt: skip
    assert run(county, "edit", "QQ-PSB-BA-001", "remove", "form.sections", "contact") == 0
    text = override.read_text(encoding="utf-8")
    assert f"id: {inline['id']}" in text and "title: 县里的标题" in text and "fields" not in text
    merged = load(county).catalogue.items["QQ-PSB-BA-001"].data["form"]["sections"]
    assert "contact" not in merged and [e for e in merged if isinstance(e, str)] == [
        e for e in city if isinstance(e, str) and e != "contact"
    ]
    section = next(e for e in merged if isinstance(e, dict))
    assert section["title"] == "县里的标题" and section["fields"] == inline["fields"]


def test_removing_a_material_the_county_itself_added_deletes_it_from_the_override(catalog: Path) -> None:
    """village_opinion is the county's own addition (the city has no such material): removing it
    takes it out of the override file, rather than writing remove: true for an id no parent has."""
    county = catalog / "examples" / "county"
    shutil.copytree(REPO / "examples" / "county", county)
    override = county / "overrides/QQ-CIVIL-QR-101.yaml"
    before = override.read_text(encoding="utf-8")
    assert run(county, "edit", "QQ-CIVIL-QR-101", "remove", "material", "village_opinion") == 0
    after = override.read_text(encoding="utf-8")
    removed, added = changed_lines(before, after)
    assert added == [] and removed[:2] == ["materials:", "  - id: village_opinion"]
    assert "remove" not in after and "location: {address: 依安县政务服务中心 E 区" in after
    assert "village_opinion" not in {m["id"] for m in load(county).catalogue.items["QQ-CIVIL-QR-101"].data["materials"]}


def test_setting_a_value_inside_an_entry_without_id_keeps_the_entrys_other_keys(catalog: Path) -> None:
    """faq entries have no id: the override replaces the list whole, with only the answer changed."""
    county = catalog / "examples" / "county"
    shutil.copytree(REPO / "examples" / "county", county)
    city_faq = load(county).catalogue.items["QQ-CIVIL-QR-101"].data["faq"]
    assert run(county, "edit", "QQ-CIVIL-QR-101", "set", "faq.1.a", "本县 20 个工作日内完成审核确认。") == 0
    faq = load(county).catalogue.items["QQ-CIVIL-QR-101"].data["faq"]
    assert faq[1] == {"q": city_faq[1]["q"], "a": "本县 20 个工作日内完成审核确认。"}
    assert faq[0] == city_faq[0] and len(faq) == len(city_faq)


def test_an_inherited_fee_schedule_is_refused_with_what_to_do_as_a_user_error(catalog: Path) -> None:
    """Also under `python -m engine.cli.main`: an expected error exits 1 with a message, never a bug report."""
    county = catalog / "examples" / "county"
    shutil.copytree(REPO / "examples" / "county", county)
    before = (catalog / "fees" / "resident-id-card.yaml").read_bytes()
    done = subprocess.run(
        [sys.executable, "-m", "engine", "edit", "fee:resident-id-card", "set", "lines.standard.amount", "25",
         "--catalog", str(county)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    assert "child_rules.local_fee_schedules" in done.stderr
    assert (catalog / "fees" / "resident-id-card.yaml").read_bytes() == before


def test_adding_back_a_material_the_override_removed_replaces_the_removal(tmp_path: Path) -> None:
    overlays = REPO / "tests" / "fixtures" / "overlays"
    shutil.copytree(overlays / "stack", tmp_path / "stack")
    county = tmp_path / "cases" / "county"
    shutil.copytree(overlays / "cases" / "clean", county)
    override = county / "overrides" / "P-HRSS-001.yaml"
    override.write_text(
        "code: P-HRSS-001\nreason: 本县不收失业登记记录。\n# 注释一\nmaterials:\n"
        "  - {id: unemployment_registration, remove: true}  # 行尾注释\n",
        "utf-8",
    )
    assert "unemployment_registration" not in {
        m["id"] for m in load(county).catalogue.items["P-HRSS-001"].data["materials"]
    }
    new = "{id: unemployment_registration, name: 失业登记记录（县）, kind: document, required: false, originals: 0, copies: 0, source: government}"  # noqa: E501
    assert run(county, "edit", "P-HRSS-001", "add", "material", new) == 0
    text = override.read_text(encoding="utf-8")
    assert "remove" not in text and "# 注释一\n" in text and "# 行尾注释" in text
    materials = {m["id"]: m for m in load(county).catalogue.items["P-HRSS-001"].data["materials"]}
    assert materials["unemployment_registration"]["name"] == "失业登记记录（县）"


def test_editing_a_withdrawn_item_says_who_withdrew_it(catalog: Path) -> None:
    county = catalog / "examples" / "county"
    shutil.copytree(REPO / "examples" / "county", county)
    with pytest.raises(UserError, match=r"item QQ-EDUCATION-XK-101 is withdrawn by center.yaml \(高级中学"):
        run(county, "edit", "QQ-EDUCATION-XK-101", "set", "visits.max", "1", "--reason", "测试。")
    assert not (county / "overrides" / "QQ-EDUCATION-XK-101.yaml").exists()


COMMENTED_SECTIONS = (
    "code: P-PSB-001\nreason: 本县表单不要联系人分组，印章分组改名（测试注释）。\nform:\n  sections:   # 分组\n"
    "    - {id: contact, remove: true}   # 不要联系人\n    - {id: seal, title: 印章信息（县）}  # 改名\n"
)


def commented_sections_county(tmp_path: Path) -> tuple[Path, Path]:
    """A county over the overlay fixture stack whose override of P-PSB-001 has comments on every line."""
    overlays = REPO / "tests" / "fixtures" / "overlays"
    shutil.copytree(overlays / "stack", tmp_path / "stack")
    county = tmp_path / "cases" / "county"
    shutil.copytree(overlays / "cases" / "mixed-sections", county)
    override = county / "overrides" / "P-PSB-001.yaml"
    override.write_text(COMMENTED_SECTIONS, "utf-8")
    return county, override


def test_an_edit_ruamel_cannot_write_readably_is_refused_not_a_traceback(tmp_path: Path) -> None:
    county, override = commented_sections_county(tmp_path)
    text = COMMENTED_SECTIONS
    with pytest.raises(UserError, match="cannot be made without reformatting lines around it"):
        run(county, "edit", "P-PSB-001", "remove", "form.sections", "seal")
    assert override.read_text(encoding="utf-8") == text


def test_adding_back_a_removed_form_section_rewrites_only_its_entry(tmp_path: Path) -> None:
    county, override = commented_sections_county(tmp_path)
    before = COMMENTED_SECTIONS
    assert run(county, "edit", "P-PSB-001", "add", "form.sections", "contact") == 0
    removed, added = changed_lines(before, override.read_text(encoding="utf-8"))
    assert removed == ["    - {id: contact, remove: true}   # 不要联系人"]
    assert [line.split("#")[0].rstrip() for line in added] == ["    - contact"]
    assert "contact" in load(county).catalogue.items["P-PSB-001"].data["form"]["sections"]
    # an id is how the override finds the parent's entry: renaming one is refused, nothing written;
    # so is placing a new entry (what an override adds follows the parent's entries)
    now = override.read_bytes()
    with pytest.raises(UserError, match=r"an override cannot place an entry"):
        run(county, "edit", "P-PSB-001", "add", "form.sections", "{id: extra, title: 附加}", "--after", "seal")
    with pytest.raises(UserError, match=r"an id cannot be renamed here: `remove form.sections seal`"):
        run(county, "edit", "P-PSB-001", "set", "form.sections.seal.id", "seal2")
    assert override.read_bytes() == now
