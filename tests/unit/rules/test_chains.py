"""Approval chains: the critical path, one merged application, and the checker's chain rules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from engine.check.pipeline import load
from engine.rules import chains

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "checks"


def fixture(name: str):  # type: ignore[no-untyped-def]
    result = load(FIXTURES / name)
    return result.catalogue, result.catalogue.chains["start"].data


def test_the_critical_path_adds_serial_stages() -> None:
    cat, chain = fixture("chain-critical-path")
    path = chains.critical_path(cat, chain)
    assert [(s.stage, s.minutes // 480, s.held_by) for s in path.stages] == [
        ("licence", 5, "QQ-A-001"),
        ("seal", 3, "QQ-B-001"),
    ]
    assert path.minutes == 8 * 480 and path.promised_minutes == 6 * 480 and not path.fits
    assert path.render() == ("licence 5 working days (QQ-A-001) → seal 3 working days (QQ-B-001) = 8 working days")


def test_a_parallel_stage_takes_its_longest_member_and_a_joint_review_its_shared_limit() -> None:
    cat, chain = fixture("chain-cycle")
    parallel = {**chain, "stages": [{"id": "p", "name": "并联", "mode": "parallel", "items": ["QQ-A-001", "QQ-B-001"]}]}
    assert chains.critical_path(cat, parallel).minutes == 5 * 480
    joint = {**parallel, "stages": [{**parallel["stages"][0], "mode": "joint_review", "lead": "amr",
                                     "limit": {"value": 2, "unit": "working_day"}}]}  # fmt: skip
    assert chains.critical_path(cat, joint).stages[0].held_by == "shared limit"
    assert chains.critical_path(cat, joint).minutes == 2 * 480


def test_a_material_an_earlier_stage_produces_is_never_asked_of_the_applicant() -> None:
    cat, chain = fixture("chain-critical-path")  # licence first, then the seal that needs the licence
    form = chains.merged_form(cat, chain)
    asked = {m.name: m.items for m in form.materials}
    assert "营业执照" not in asked  # produced by the licence stage for the seal stage
    assert form.produced == (("QQ-B-001", "licence", "QQ-A-001"),)
    assert asked["申请书"] == ("QQ-A-001", "QQ-B-001")  # needed twice, uploaded once
    reordered = {**chain, "stages": list(reversed(chain["stages"]))}
    assert "营业执照" in {m.name for m in chains.merged_form(cat, reordered).materials}


def test_show_prints_a_chains_critical_path(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(FIXTURES / "chain-critical-path", tmp_path / "cat")
    chain = tmp_path / "cat" / "chains" / "start.yaml"
    chain.write_text(chain.read_text(encoding="utf-8").replace("value: 6", "value: 8"), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "engine", "show", "start", "--catalog", str(tmp_path / "cat")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "critical path: licence 5 working days (QQ-A-001) → seal 3 working days (QQ-B-001) = 8" in proc.stdout
    assert "promised: 8 working days — fits" in proc.stdout


def test_the_reference_chains_fit_their_promises_and_ask_for_no_result_they_produce(reference) -> None:  # type: ignore[no-untyped-def]
    cat = reference.catalogue
    assert set(cat.chains) == {"construction", "organization", "economic"}
    for chain_id, doc in cat.chains.items():
        assert chains.critical_path(cat, doc.data).fits, chain_id
        form = chains.merged_form(cat, doc.data)
        producers = {p for _, _, p in form.produced}
        for material in form.materials:
            for code in material.items:
                item = cat.items[code].data
                spec = next(m for m in item["materials"] if m["name"] == material.name)
                assert spec.get("produced_by") not in producers or spec.get("produced_by") not in {
                    c for s in doc.data["stages"] for c in s["items"]
                }, (chain_id, material.name)
    organization = chains.merged_form(cat, cat.chains["organization"].data)
    # one business licence feeds the seal, tax, social insurance and housing fund registrations
    assert {code for code, _, producer in organization.produced if producer == "QQ-AMR-DJ-001"} >= {
        "QQ-PSB-BA-001", "QQ-TAX-QT-001", "QQ-HRSS-DJ-001", "QQ-HPF-DJ-001",
    }  # fmt: skip
