"""Benchmark the catalogue's interchange commands (``make bench``): the 实施清单 workbook out and in, a
province-size workbook in, a hostile workbook refused, and every item and chain as BPMN.

Each command runs as a user runs it (a fresh ``python -m engine`` process), side by side with
``yangguang check --no-cache`` of the same catalogue in the same run (an import checks new files: no cache
helps it), so the figures are ratios to a command everyone already waits for:

* export of the reference catalogue, and import of that workbook into a copy (checker included):
  target import ≤ 3× check (reading the workbook and writing 50 files on top of the check it runs);
* a province-size workbook (every reference row copied under new codes, ``--copies`` times): import within
  ``TARGET_BIG_SECONDS``;
* a 2 MB workbook whose one sheet holds a million cells (past the row cap): refused with exit 1, and its
  peak memory within ``TARGET_HOSTILE_MB`` (GNU time's maximum resident size; the figure is left out when
  /usr/bin/time is missing);
* ``export bpmn --all``: every item and chain.

PASS/MISS is printed; the exit status is 0 either way (these machines are noisy: never a timed test).

    .venv/bin/python bench/bench_interchange.py [--repeat 3] [--copies 20]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GNU_TIME = Path("/usr/bin/time")
PARTS = ("center.yaml", "items", "fees", "forms", "chains", "calendar", "appointments.yaml")
TARGET_IMPORT_RATIO = 3.0
TARGET_BIG_SECONDS = 30.0
TARGET_HOSTILE_MB = 150.0


@dataclass(slots=True)
class Run:
    seconds: float
    returncode: int
    output: str
    rss_mb: float | None


def run(*args: str) -> Run:
    with tempfile.TemporaryDirectory() as tmp:
        rss_file = Path(tmp) / "rss"
        prefix = [str(GNU_TIME), "-f", "%M", "-o", str(rss_file)] if GNU_TIME.exists() else []
        start = time.perf_counter()
        proc = subprocess.run(
            [*prefix, sys.executable, "-m", "engine", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=REPO
        )
        seconds = time.perf_counter() - start
        lines = rss_file.read_text().split() if rss_file.exists() else []
        rss = int(lines[-1]) / 1024 if lines and lines[-1].isdigit() else None
    return Run(seconds, proc.returncode, proc.stdout.decode("utf-8", "replace"), rss)


def must(r: Run, what: str, code: int = 0) -> Run:
    if r.returncode != code:
        sys.exit(f"{what} exited {r.returncode} (expected {code}):\n{r.output[-3000:]}")
    return r


def catalogue_copy(dest: Path, with_items: bool = True) -> Path:
    dest.mkdir(parents=True)
    for part in PARTS:
        if part == "items" and not with_items:
            (dest / "items").mkdir()
            continue
        (shutil.copytree if (REPO / part).is_dir() else shutil.copy2)(REPO / part, dest / part)
    return dest


def province_workbook(source: Path, dest: Path, copies: int) -> int:
    """Every row of every sheet again ``copies`` times, its item code suffixed (QQ-AMR-DJ-001-P07)."""
    import openpyxl

    book = openpyxl.load_workbook(source)
    items = 0
    for sheet in book.worksheets:
        header = [c.value for c in sheet[1]]
        if "事项编码" not in header:
            continue
        col = header.index("事项编码")
        rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
        for n in range(1, copies):
            for row in rows:
                copy = list(row)
                copy[col] = f"{row[col]}-P{n:02d}"
                sheet.append(copy)
        if sheet.title == "事项":
            items = sheet.max_row - 1
    book.save(dest)
    return items


def hostile_workbook(dest: Path, rows: int = 50_000, columns: int = 20) -> None:
    """A valid .xlsx whose one sheet holds rows × columns cells of 1 (a million by default): small on disk."""
    cells = "".join(f'<c r="{chr(65 + i)}{{r}}"><v>1</v></c>' for i in range(columns))
    sheet = "".join(f'<row r="{r}">{cells.format(r=r)}</row>' for r in range(1, rows + 1))
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        )
        z.writestr(
            "_rels/.rels",
            f'<?xml version="1.0"?><Relationships xmlns="{pkg}"><Relationship Id="rId1" '
            f'Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        z.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0"?><workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
            '<sheet name="事项" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<?xml version="1.0"?><Relationships xmlns="{pkg}"><Relationship Id="rId1" '
            f'Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        )
        z.writestr(
            "xl/worksheets/sheet1.xml",
            f'<?xml version="1.0"?><worksheet xmlns="{main}"><sheetData>{sheet}</sheetData></worksheet>',
        )


def line(label: str, runs: list[Run], verdict: str = "") -> None:
    times = [r.seconds for r in runs]
    peaks = [r.rss_mb for r in runs if r.rss_mb is not None]
    rss = f"  peak {max(peaks):5.0f} MB" if peaks else ""
    print(f"{label:<50} {statistics.median(times):6.2f} s (range {min(times):.2f}–{max(times):.2f}){rss}  {verdict}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--copies", type=int, default=20, help="copies of every row in the province-size workbook")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        book, big, bomb = tmp / "清单.xlsx", tmp / "全省清单.xlsx", tmp / "hostile.xlsx"
        checks, exports, imports = [], [], []
        for n in range(args.repeat):
            checks.append(must(run("check", "--no-cache", str(REPO)), "yangguang check"))
            exports.append(must(run("export", "xlsx", str(REPO), str(book)), "export xlsx"))
            into = catalogue_copy(tmp / f"copy{n}", with_items=False)
            imports.append(must(run("import", "xlsx", str(book), "--into", str(into)), "import xlsx"))
        items = province_workbook(book, big, args.copies)
        bigs = [
            must(run("import", "xlsx", str(big), "--into", str(catalogue_copy(tmp / f"big{n}", False))), "big import")
            for n in range(max(1, args.repeat - 1))
        ]
        hostile_workbook(bomb)
        size_mb = bomb.stat().st_size / 2**20
        hostiles = [
            must(run("import", "xlsx", str(bomb), "--into", str(tmp / "copy0")), "hostile import", 1)
            for _ in range(args.repeat)
        ]
        bpmns = [must(run("export", "bpmn", "--all", str(tmp / f"bpmn{n}")), "export bpmn") for n in range(args.repeat)]
    check_s = statistics.median(r.seconds for r in checks)
    ratio = statistics.median(r.seconds for r in imports) / check_s
    big_s = statistics.median(r.seconds for r in bigs)
    peaks = [r.rss_mb for r in hostiles if r.rss_mb is not None]
    print("interchange: the reference catalogue (50 items) as an 实施清单 workbook, and back")
    line("yangguang check --no-cache (the yardstick)", checks)
    line("export xlsx (50 items)", exports)
    passed = "PASS" if ratio <= TARGET_IMPORT_RATIO else "MISS"
    verdict = f"{ratio:.2f}× check, target ≤ {TARGET_IMPORT_RATIO:g}×  {passed}"
    line("import xlsx (50 items, checker included)", imports, verdict)
    verdict = f"target ≤ {TARGET_BIG_SECONDS:g} s  {'PASS' if big_s <= TARGET_BIG_SECONDS else 'MISS'}"
    line(f"import xlsx, province size ({items:,} items)", bigs, verdict)
    if peaks:
        verdict = f"target ≤ {TARGET_HOSTILE_MB:g} MB  {'PASS' if max(peaks) <= TARGET_HOSTILE_MB else 'MISS'}"
    else:
        verdict = "peak memory not measured (/usr/bin/time missing)"
    line(f"refuse a {size_mb:.1f} MB workbook of a million cells", hostiles, verdict)
    line("export bpmn --all (50 items, 3 chains)", bpmns)
    return 0


if __name__ == "__main__":
    sys.exit(main())
