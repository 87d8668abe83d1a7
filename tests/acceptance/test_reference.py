"""The repository's own reference catalogue: clean, complete, and modelled on a real city center."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.catalogue.discover import FOLDERS, discover
from engine.catalogue.schemas import KINDS

REPO = Path(__file__).resolve().parents[2]


def test_reference_catalogue_checks_clean(reference) -> None:  # type: ignore[no-untyped-def]
    assert [p.render() for p in reference.problems] == []


def test_every_reference_file_starts_with_its_modeline() -> None:
    files, problems = discover(REPO)
    assert problems == []
    for rel, kind in files:
        first = (REPO / rel).read_text(encoding="utf-8").split("\n", 1)[0]
        depth = rel.count("/")
        expected = f"# yaml-language-server: $schema={'../' * depth}schema/{KINDS[kind]}"
        assert first == expected, f"{rel}: first line should be {expected!r}"
        assert (REPO / rel).parent.joinpath(first.split("=", 1)[1]).resolve().is_file()


def test_vscode_settings_map_every_folder_to_its_schema() -> None:
    import json

    settings = json.loads((REPO / ".vscode" / "settings.json").read_text(encoding="utf-8"))["yaml.schemas"]
    mapped = {Path(schema).name: globs for schema, globs in settings.items()}
    for folder, kind in FOLDERS.items():
        assert any(g.startswith(f"{folder}/") for g in mapped[KINDS[kind]])
    assert mapped["center.schema.json"] == ["center.yaml"]


def test_size_and_spread(reference) -> None:  # type: ignore[no-untyped-def]
    cat = reference.catalogue
    assert len(cat.items) >= 40
    assert len({d.data["department"] for d in cat.items.values()}) >= 12
    immediate = [c for c, d in cat.items.items() if d.data["time_limit"]["promised"]["value"] == 0]
    assert len(immediate) >= 5
    assert len(cat.fees) >= 3
    assert {2025, 2026} <= set(cat.calendars)


@pytest.mark.parametrize(
    "name",
    [
        "企业投资项目备案",
        "建设用地规划许可证核发",
        "建设工程规划许可证核发",
        "建筑工程施工许可证核发",
        "建设工程消防设计审查",
        "建设项目环境影响报告书（表）审批",
        "企业设立登记",
        "公章刻制备案",
        "单位参保登记",
        "社会团体成立登记",
        "食品经营许可",
        "烟草专卖零售许可证核发",
        "公共场所卫生许可",
        "道路货物运输经营许可",
    ],
)
def test_the_three_domains_are_covered(name: str, reference) -> None:  # type: ignore[no-untyped-def]
    names = [d.data["name"] for d in reference.catalogue.items.values()]
    assert any(name in n or n in name for n in names), f"no item like {name!r}"


def test_every_legal_basis_names_a_law_and_article(reference) -> None:  # type: ignore[no-untyped-def]
    for doc in reference.catalogue.items.values():
        for ref in doc.data["basis"]:
            assert len(ref["law"]) >= 4 and ref["article"], doc.file


def test_charged_items_use_real_schedules(reference) -> None:  # type: ignore[no-untyped-def]
    cat = reference.catalogue
    charged = [d for d in cat.items.values() if isinstance(d.data["fee"], dict) and "schedule" in d.data["fee"]]
    assert charged, "at least one reference item charges a fee"
    assert {d.data["fee"]["schedule"] for d in charged} <= set(cat.fees)
