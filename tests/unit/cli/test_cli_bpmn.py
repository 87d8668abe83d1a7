"""``yangguang export bpmn``: one item or chain to a file or standard output, every one with ``--all``, and a
clean refusal of a name the catalogue does not have."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser, BpmnValidator
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.cli.main import main

REPO = Path(__file__).resolve().parents[3]
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def export(*args: str) -> int:
    return main(["export", "bpmn", *args, "--catalog", str(REPO)])


def test_an_item_is_written_to_the_file_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "f.bpmn"
    assert export("QQ-WATER-XK-001", "-o", str(target)) == 0
    assert capsys.readouterr().out == f"wrote {target} (process item_QQ-WATER-XK-001)\n"
    doc = etree.parse(str(target)).getroot()
    BpmnValidator().validate(doc)
    assert doc.find(f"{BPMN}process").get("name") == "取水许可"


def test_a_chain_into_a_folder_and_to_standard_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert export("construction", "-o", str(tmp_path)) == 0
    written = (tmp_path / "construction.chain.bpmn").read_bytes()
    capsys.readouterr()
    assert export("construction") == 0
    assert capsys.readouterr().out.encode() == written


def test_all_writes_one_file_per_item_and_chain(
    reference: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bpmn"
    assert export("--all", str(out)) == 0
    cat = reference.catalogue
    files = {p.name for p in out.iterdir()}
    assert files == {f"{c}.bpmn" for c in cat.items} | {f"{c}.chain.bpmn" for c in cat.chains}
    items, chains = len(cat.items), len(cat.chains)
    assert capsys.readouterr().out == f"wrote {items + chains} BPMN files to {out}: {items} items, {chains} chains\n"


def test_the_spiffworkflow_dialect_runs_in_stock_spiffworkflow(tmp_path: Path) -> None:
    """``--dialect spiffworkflow`` writes timers as quoted strings, which stock SpiffWorkflow evaluates; the
    default writes the ISO literal other engines read."""
    assert export("QQ-DRC-BA-001", "--dialect", "spiffworkflow", "-o", str(tmp_path / "s.bpmn")) == 0
    assert export("QQ-DRC-BA-001", "-o", str(tmp_path / "d.bpmn")) == 0
    duration = ".//{*}timeDuration"
    assert etree.parse(str(tmp_path / "s.bpmn")).find(duration).text == '"PT20M"'
    assert etree.parse(str(tmp_path / "d.bpmn")).find(duration).text == "PT20M"
    parser = BpmnParser()
    parser.add_bpmn_file(str(tmp_path / "s.bpmn"))
    wf = BpmnWorkflow(parser.get_spec("item_QQ-DRC-BA-001"), parser.get_subprocess_specs("item_QQ-DRC-BA-001"))
    wf.do_engine_steps()
    while not wf.is_completed():
        wf.get_tasks(state=TaskState.READY, manual=True)[0].run()
        wf.do_engine_steps()


def test_an_unknown_dialect_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        export("QQ-DRC-BA-001", "--dialect", "camunda")
    assert exit_.value.code == 2
    assert "invalid choice: 'camunda' (choose from 'standard', 'spiffworkflow')" in capsys.readouterr().err


def test_an_unknown_name_exits_1_saying_where_the_codes_are(capsys: pytest.CaptureFixture[str]) -> None:
    assert export("QQ-WATER-XK-01") == 1
    err = capsys.readouterr().err
    assert err.startswith("yangguang: no item or chain 'QQ-WATER-XK-01'; did you mean QQ-WATER-XK-001, ")
    assert err.endswith(
        "? `yangguang list` lists the item codes; the chains are: construction, economic, organization\n"
    )
    assert "Traceback" not in err


def test_a_name_and_all_together_or_neither_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert export("construction", "--all", str(tmp_path)) == 1
    assert export() == 1
    assert capsys.readouterr().err.count("name one item code or chain id, or give --all DIR") == 2
    assert not list(tmp_path.iterdir())


def test_all_into_a_file_is_a_clean_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "taken").write_text("")
    assert export("--all", str(tmp_path / "taken")) == 1
    assert "is a file; --all needs a folder" in capsys.readouterr().err
