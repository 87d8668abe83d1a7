"""``yangguang import xlsx``'s summary: what --dry-run would write, what a rewrite kept of the files, and
why nothing was written."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from support import REPO, copy_catalogue

from engine.cli.main import main


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("x") / "清单.xlsx"
    assert main(["export", "xlsx", str(REPO), str(out)]) == 0
    return out


def test_dry_run_counts_the_files_it_would_rewrite(
    tmp_path: Path, exported: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cat = copy_catalogue(tmp_path / "cat")
    capsys.readouterr()
    assert main(["import", "xlsx", str(exported), "--into", str(cat), "--dry-run"]) == 0
    assert capsys.readouterr().out == f"would write 50 item file(s) into {cat}: 0 new, 50 rewritten\n"
    wb = load_workbook(exported)
    ws = wb["事项"]
    ws["AC2"] = -1  # 承诺办结时限
    wb.save(tmp_path / "bad.xlsx")
    assert main(["import", "xlsx", str(tmp_path / "bad.xlsx"), "--into", str(cat), "--dry-run"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "bad.xlsx!事项!AC2: error[range]" in err
    assert err.endswith("1 error(s); nothing written (fix them, or pass --partial to write the items without errors)\n")


def test_a_rewrite_names_what_it_kept_and_headers_alone_are_no_item_rows(
    tmp_path: Path, exported: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cat = copy_catalogue(tmp_path / "cat")
    (tmp_path / "m.yaml").write_text("extends: national\nsheets:\n  faq: {omit: true}\n", encoding="utf-8")
    capsys.readouterr()
    argv = ["import", "xlsx", str(exported), "--into", str(cat), "--mapping", str(tmp_path / "m.yaml")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "QQ-AMR-XK-101: kept from its file (the sheet does not carry them): faq\n" in out
    assert out.endswith(f"wrote 50 item file(s) into {cat}: 0 new, 50 rewritten\n")
    assert "faq:" in (cat / "items/amr/food-business-licence.yaml").read_text(encoding="utf-8")
    wb = load_workbook(exported)
    for ws in wb.worksheets:
        ws.delete_rows(2, ws.max_row)
    wb.save(tmp_path / "headers.xlsx")
    assert main(["import", "xlsx", str(tmp_path / "headers.xlsx"), "--into", str(cat), "--partial"]) == 1
    assert capsys.readouterr().err == "the items sheet has no item rows (only its header); nothing written\n"
