"""The schemas work with standard tools, from any folder, and the override schema gives the same help as the
item schema: check-jsonschema (what pre-commit runs) and the editor read the same files `yangguang check` uses."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.catalogue import override_schema
from engine.check.pipeline import load

REPO = Path(__file__).resolve().parents[3]
SCHEMA = REPO / "schema"
TOOL = Path(sys.executable).parent / "check-jsonschema"
CHECK_JSONSCHEMA = str(TOOL) if TOOL.exists() else shutil.which("check-jsonschema")
needs_tool = pytest.mark.skipif(CHECK_JSONSCHEMA is None, reason="check-jsonschema is not installed (bench extras)")

BAD_OVERRIDE = """\
# yaml-language-server: $schema=../../../schema/override.schema.json
code: QQ-REALESTATE-DJ-101
reason: 本县承诺时限缩短。
time_limit:
  promised: {value: 3, unit: working_days}
location: {adress: 依安县政务服务中心 B 区}
"""


def run_tool(schema: Path, files: list[Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    assert CHECK_JSONSCHEMA is not None
    return subprocess.run(
        [CHECK_JSONSCHEMA, "--schemafile", str(schema), *map(str, files)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_override_schema_is_generated_from_the_item_schema() -> None:
    on_disk = (SCHEMA / "override.schema.json").read_text(encoding="utf-8")
    assert on_disk == override_schema.render(override_schema.build()), "run `make schemas`"
    assert override_schema.main(["--check"]) == 0


def test_no_schema_has_a_relative_id() -> None:
    # a relative $id makes standard tools resolve common.schema.json against the working directory
    for path in SCHEMA.glob("*.schema.json"):
        assert '"$id"' not in path.read_text(encoding="utf-8"), path.name


def test_the_override_schema_names_every_key_an_item_has_and_checks_nested_ones() -> None:
    built = override_schema.build()
    props = built["properties"]
    item_keys = set(json.loads((SCHEMA / "item.schema.json").read_text(encoding="utf-8"))["properties"])
    assert item_keys | {"reason"} == set(props)
    # the merged mappings are closed (an unknown key is an error) and partial (nothing required)
    for key in ("time_limit", "location", "result", "online", "remedy"):
        assert props[key]["additionalProperties"] is False and "required" not in props[key], key
    assert props["time_limit"]["properties"]["promised"]["$ref"] == "#/definitions/partial_duration"
    assert built["definitions"]["partial_duration"]["properties"]["unit"]["enum"] == [
        "working_day",
        "natural_day",
        "minute",
    ]
    material = props["materials"]["items"]
    assert material["required"] == ["id"] and "remove" in material["properties"]
    assert "name" in material["properties"] and material["additionalProperties"] is False


@needs_tool
@pytest.mark.parametrize(
    ("schema", "pattern"),
    [
        ("item", "items/**/*.yaml"),
        ("fee", "fees/*.yaml"),
        ("form", "forms/*.yaml"),
        ("chain", "chains/*.yaml"),
        ("calendar", "calendar/*.yaml"),
        ("override", "examples/*/overrides/*.yaml"),
    ],
)
def test_check_jsonschema_validates_every_reference_file_from_another_folder(
    schema: str, pattern: str, tmp_path: Path
) -> None:
    files = sorted(REPO.glob(pattern))
    assert files
    done = run_tool(SCHEMA / f"{schema}.schema.json", files, cwd=tmp_path)  # not the repository root
    assert done.returncode == 0, done.stdout + done.stderr


@needs_tool
def test_check_jsonschema_from_the_repository_root_with_relative_paths() -> None:
    done = run_tool(Path("schema/item.schema.json"), [Path("items/psb/seal-engraving-filing.yaml")], cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr


@needs_tool
def test_a_broken_item_fails_check_jsonschema(tmp_path: Path) -> None:
    text = (REPO / "items/psb/seal-engraving-filing.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "broken.yaml"
    bad.write_text(text.replace("unit: minute", "unit: minutes", 1) + "bogus_key: 1\n", encoding="utf-8")
    done = run_tool(SCHEMA / "item.schema.json", [bad], cwd=tmp_path)
    assert done.returncode == 1
    assert "bogus_key" in done.stdout


@needs_tool
def test_an_override_with_a_misspelt_unit_and_key_fails_check_jsonschema_and_yangguang_check(tmp_path: Path) -> None:
    county = tmp_path / "examples" / "county"
    shutil.copytree(REPO / "examples" / "county", county)
    # the county extends ../.. : give it the reference catalogue as its parent
    for name in ("center.yaml", "items", "forms", "fees", "chains", "calendar"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    bad = county / "overrides" / "QQ-REALESTATE-DJ-101.yaml"
    bad.write_text(BAD_OVERRIDE, encoding="utf-8")
    done = run_tool(SCHEMA / "override.schema.json", [bad], cwd=tmp_path)
    assert done.returncode == 1
    assert "working_days" in done.stdout and "adress" in done.stdout
    # the checker reports the same two mistakes at their lines
    lines = [p.render() for p in load(county).problems if p.file == "overrides/QQ-REALESTATE-DJ-101.yaml"]
    assert any(":5:" in line and "error[enum]" in line and "working_days" in line for line in lines), lines
    assert any(":6:" in line and "error[unknown-key]" in line and "adress" in line for line in lines), lines
