"""/admin/items/CODE/whatif: before an edit on disk goes live, the item's on-time rate, lights and working
days under the live catalogue and the one on disk, on the recorded load (synthetic without one)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from support import copy_catalogue
from support.desk import browser
from support.whatif import ITEM, ITEM_FILE

from engine.base.dates import TZ
from engine.rules.clock import ManualClock
from engine.service.accounts import add_user
from engine.service.simulate import simulate
from engine.web.app import create_app

PASSWORD = "administer-me"
NAME = "道路旅客运输经营许可"
PATH = f"/admin/items/{ITEM}/whatif"


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Path]]:
    monkeypatch.setenv("YANGGUANG_CACHE_DIR", str(tmp_path / "cache"))
    root = copy_catalogue(tmp_path / "catalogue")
    clk = ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ))
    app = create_app(root, tmp_path / "admin.db", clock=clk, sweep_seconds=0, reload_seconds=0)
    for username, role, dept in (("admin", "admin", None), ("window.culture", "window", "culture")):
        add_user(app.state.service.db, username, role, dept, PASSWORD)
    with TestClient(app):
        yield app, root


def main_of(page: str) -> str:
    start = page.index(">", page.index("<main")) + 1
    return page[start : page.index("</main>")]


def table(page: str, table_id: str) -> dict[str, list[str]]:
    body = page.split(f'id="{table_id}"')[1].split("</table>")[0].split("<tbody>")[1]
    rows = {}
    for row in body.split("<tr>")[1:]:
        label = row.split('<th scope="row">')[1].split("</th>")[0]
        rows[label] = [cell.split("</td>")[0] for cell in row.split("<td>")[1:]]
    return rows


def shorten(root: Path) -> None:
    path = root / ITEM_FILE
    path.write_text(
        path.read_text(encoding="utf-8").replace("  promised:\n    value: 10\n", "  promised:\n    value: 5\n", 1),
        encoding="utf-8",
    )


def test_only_administrators_and_supervisors_see_it_and_an_unknown_item_is_404(site: Any) -> None:
    app, _ = site
    assert browser(app, "window.culture", PASSWORD).get(PATH).status_code == 403
    admin = browser(app, "admin", PASSWORD)
    assert f'href="{PATH}"' in admin.get("/admin").text
    missing = admin.get("/admin/items/QQ-NOPE/whatif")
    assert missing.status_code == 404 and "Traceback" not in missing.text


def test_an_unchanged_catalogue_shows_the_same_figures_on_a_synthetic_load(site: Any) -> None:
    app, _ = site
    page = browser(app, "admin", PASSWORD).get(PATH)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert 'id="same"' in page.text and "还没有办件记录" in page.text
    rows = table(page.text, "item")
    assert all(r[2] == "0" for r in rows.values())  # no difference anywhere


def test_a_shorter_promise_on_disk_shows_fewer_on_time_and_red_lights_before_it_goes_live(site: Any) -> None:
    app, root = site
    live = app.state.catalogue.version
    shorten(root)
    admin = browser(app, "admin", PASSWORD)
    page = admin.get(PATH).text
    assert app.state.catalogue.version == live  # nothing went live
    assert f"时限预测：{NAME}" in page and 'id="same"' not in page
    item = table(page, "item")
    on_time = item["按时办结率（%）"]
    assert on_time[0] == "100" and float(on_time[1]) < 50 and on_time[2].startswith("-")
    assert int(item["亮红灯件数"][1]) > 0 and item["亮红灯件数"][2].startswith("+")
    assert item["平均办理用时（工作日）"][2] == "0"  # the same pace: only the deadlines moved
    main = main_of(page)
    assert ITEM not in main and "T0" not in main and "+00:00" not in main  # no codes, no UTC on the page
    english = admin.get(PATH + "?lang=en").text
    assert "On-time rate (%)" in english and "时限预测" not in english


def test_the_recorded_load_of_the_center_is_replayed(site: Any) -> None:
    app, root = site
    service = app.state.service
    simulate(service, service.clock, [ITEM, "QQ-PSB-BA-001"], days=3, per_day=4, seed=2)
    shorten(root)
    page = browser(app, "admin", PASSWORD).get(PATH).text
    load = page.split('id="load"')[1].split("</p>")[0]
    assert "2026-03-06 至 2026-03-10" in load and "共 12 件" in load
