"""/admin/items/CODE/whatif: before an edit on disk goes live, the item's on-time rate, lights and working
days under the live catalogue and the one on disk, on the recorded load (synthetic without one)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from support import copy_catalogue
from support.desk import browser
from support.whatif import ITEM, ITEM_FILE

from engine.base.dates import TZ
from engine.check.pipeline import load as load_catalogue
from engine.cli.main import main
from engine.rules.calendar import WorkCalendar
from engine.rules.clock import ManualClock
from engine.service.accounts import add_user
from engine.service.simulate import simulate
from engine.web import admin_whatif
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


# -- the form: a change proposed on the page, applied to a copy of the live item, nothing written ------------


def test_proposing_a_shorter_promise_on_the_form_lowers_the_on_time_rate_and_writes_nothing(site: Any) -> None:
    app, root = site
    live, before = app.state.catalogue.version, (root / ITEM_FILE).read_bytes()
    admin = browser(app, "admin", PASSWORD)
    page = admin.get(PATH + "?promised=5&promised.unit=working_day").text
    assert app.state.catalogue.version == live and (root / ITEM_FILE).read_bytes() == before
    assert "下面比较线上目录和您在上面填写的修改" in page and 'id="same"' not in page
    on_time = table(page, "item")["按时办结率（%）"]
    assert on_time[0] == "100" and float(on_time[1]) < 50 and on_time[2].startswith("-")
    assert 'name="promised" value="5"' in page  # the form keeps what was proposed
    command = page.split('id="commands"')[1].split('<pre class="command">')[1].split("</pre>")[0].strip()
    assert command == f"yangguang edit {ITEM} set time_limit.promised 5"
    assert table(page, "roles")  # the load per role of the department is shown too


def test_the_edit_command_shown_makes_the_change_the_page_simulated(site: Any, capsys: Any) -> None:
    app, root = site
    page = browser(app, "admin", PASSWORD).get(PATH + "?promised=5").text
    command = page.split('<pre class="command">')[1].split("</pre>")[0].strip()
    assert main(["edit", "--catalog", str(root), *command.split()[2:], "--dry-run"]) == 0
    assert "+    value: 5" in capsys.readouterr().out


def test_an_invalid_value_is_shown_next_to_its_field_and_nothing_is_simulated(site: Any) -> None:
    app, _ = site
    page = browser(app, "admin", PASSWORD).get(PATH + "?promised=ten")
    assert page.status_code == 200
    field = page.text.split('id="f-promised"')[1].split("</p>")[0]
    assert 'aria-invalid="true"' in field and 'aria-describedby="f-promised-error"' in field
    assert 'id="f-promised-error">请填写一个不小于 0 的整数。' in field
    assert 'id="not-simulated"' in page.text and 'id="item"' not in page.text and 'id="commands"' not in page.text


def test_a_promise_longer_than_the_legal_limit_is_refused_with_the_checkers_message(site: Any) -> None:
    app, _ = site
    page = browser(app, "admin", PASSWORD).get(PATH + "?promised=30").text
    field = page.split('id="f-promised"')[1].split("</p>")[0]
    assert "promised limit 30 working days is longer than the legal limit" in field
    assert "the promised limit may never exceed the legal one" in field
    assert 'id="item"' not in page and 'id="commands"' not in page


@pytest.mark.parametrize(
    "query",
    [
        "step.nosuchstep=3",
        "promised=99999999999999999999999",
        "promised=1001",
        "promised=-5",
        "promised=5&promised.unit=fortnight",
        "promised=%EF%BC%95",  # a full-width digit
        "promised=",
        "staff.reviewer=0&staff.nosuchrole=2",
        "staff.reviewer=1e9",
        "&".join(f"step.s{i}=1" for i in range(300)),
        "promised=5&promised=6&promised.unit=hour",
    ],
)
def test_garbage_on_the_form_gets_a_message_never_a_500(site: Any, query: str) -> None:
    app, _ = site
    page = browser(app, "admin", PASSWORD).get(f"{PATH}?{query}")
    assert page.status_code == 200 and "Traceback" not in page.text
    assert 'class="error"' in page.text and 'id="not-simulated"' in page.text


def test_a_step_limit_and_staff_of_an_item_in_a_chain(site: Any) -> None:
    app, _ = site
    admin = browser(app, "admin", PASSWORD)
    path = "/admin/items/QQ-HOUSING-XK-001/whatif"
    page = admin.get(path).text
    assert 'name="step.undertake" value="5"' in page and 'name="staff.reviewer" value="2"' in page
    assert any(k.startswith("基本建设审批链条（企业投资项目）：施工图联审") for k in table(page, "stages"))
    too_long = admin.get(path + "?step.undertake=13").text  # the steps would exceed the promise
    assert "the steps add up to 18 working days, more than the promised limit 10 working days" in too_long
    shorter = admin.get(path + "?step.undertake=2&staff.reviewer=3").text
    assert 'id="item"' in shorter and 'id="staff-note"' in shorter
    assert "set steps.undertake.limit 2" in shorter.split('id="commands"')[1]


def test_supervisors_read_the_form_and_the_english_page_has_no_chinese_of_ours(site: Any) -> None:
    app, _ = site
    add_user(app.state.service.db, "supervisor", "supervisor", None, PASSWORD)
    page = browser(app, "supervisor", PASSWORD).get(PATH + "?promised=5&lang=en")
    assert page.status_code == 200
    main = main_of(page.text).replace(NAME, "")
    assert "Try a change (no file is changed)" in main and "On-time rate (%)" in main
    for word in ("目录", "预测", "工作日", "岗位", "修改"):
        assert word not in main


# -- the failures the page expects, each said as it is; anything else is a bug: a 500 --------------------------


def site_at(tmp_path: Path, when: datetime) -> tuple[Any, Path]:
    root = copy_catalogue(tmp_path / "catalogue")
    app = create_app(root, tmp_path / "admin.db", clock=ManualClock(when), sweep_seconds=0, reload_seconds=0)
    add_user(app.state.service.db, "admin", "admin", None, PASSWORD)
    return app, root


def test_a_year_without_a_working_day_calendar_is_named_with_the_file_to_add(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YANGGUANG_CACHE_DIR", str(tmp_path / "cache"))
    app, _ = site_at(tmp_path, datetime(2019, 6, 3, 9, 0, tzinfo=TZ))  # before the first calendar file
    with TestClient(app):
        admin = browser(app, "admin", PASSWORD)
        page = admin.get(PATH)
        assert page.status_code == 200 and "Traceback" not in page.text
        panel = page.text.split('id="no-calendar"')[1].split("</p>")[0]
        assert "缺少 2019 年的工作日历（calendar/2019.yaml）" in panel and "国务院办公厅" in panel
        assert 'id="item"' not in page.text and 'id="f-promised"' in page.text  # the form is still there
        assert "这个事项引用的文件有错误" not in page.text
        english = admin.get(PATH + "?promised=5&lang=en").text
        assert "no working-day calendar for 2019 (calendar/2019.yaml)" in english and "Add the file" in english
        assert 'id="item"' not in english


def test_a_disk_catalogue_that_does_not_check_is_not_simulated_and_its_errors_are_on_admin(site: Any) -> None:
    app, root = site
    (root / "items" / "culture" / "broken.yaml").write_text("code: [unclosed\n", encoding="utf-8")
    admin = browser(app, "admin", PASSWORD)
    page = admin.get(PATH)
    assert page.status_code == 200
    panel = page.text.split('id="disk-invalid"')[1].split("</p>")[0]
    assert "磁盘上的目录检查不通过" in panel and 'href="/admin"' in panel
    assert 'id="item"' not in page.text and 'id="same"' not in page.text
    app.reload_now()  # what the server does every 2 seconds
    assert "broken.yaml" in admin.get("/admin").text  # where the errors are listed
    proposed = admin.get(PATH + "?promised=5").text  # a proposal is compared with the live catalogue
    assert 'id="item"' in proposed and 'id="disk-invalid"' not in proposed


def test_an_item_whose_file_is_gone_on_disk_is_said_to_be_withdrawn(site: Any) -> None:
    app, root = site
    (root / ITEM_FILE).unlink()
    page = browser(app, "admin", PASSWORD).get(PATH)
    assert page.status_code == 200
    panel = page.text.split('id="not-on-disk"')[1].split("</p>")[0]
    assert "磁盘上最新的目录里已经没有这个事项" in panel and "恢复它的文件" in panel
    assert 'id="item"' not in page.text


def test_a_bug_is_a_500_without_a_traceback_and_logged_with_one(
    site: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = site

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals /srv/db")

    monkeypatch.setattr(admin_whatif.whatif, "what_if", boom)
    page = browser(app, "admin", PASSWORD).get(PATH)
    assert page.status_code == 500 and "服务器内部错误" in page.text
    assert "secret" not in page.text and "Traceback" not in page.text and "目录" not in main_of(page.text)
    logged = [r for r in caplog.records if r.exc_info and "secret internals" in str(r.exc_info[1])]
    assert logged and logged[0].levelname == "ERROR"


# -- the cap on the cases simulated counts the chains' member cases --------------------------------------------


def test_at_most_2000_cases_are_simulated_chain_members_included(site: Any) -> None:
    app, _ = site
    page = browser(app, "admin", PASSWORD).get(PATH).text
    load = page.split('id="load"')[1].split("</p>")[0]
    cases = int(re.search(r"共 (\d+) 件。", load).group(1))  # type: ignore[union-attr]
    assert 1900 <= cases <= admin_whatif.MOST_CASES  # uncapped: 2,000 arrivals plus the chains' members
    assert "件数包括审批链条各阶段开出的办件；每次最多模拟 2,000 件" in load


def test_the_disk_catalogue_runs_under_its_own_calendar_files(tmp_path: Path) -> None:
    live = load_catalogue(copy_catalogue(tmp_path / "live")).catalogue
    root = copy_catalogue(tmp_path / "disk")
    path = root / "calendar" / "2026.yaml"
    holiday = "    from: 2026-04-04\n    to: 2026-04-06\n"  # 清明节, a day longer on disk
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(holiday, holiday.replace("04-06", "04-07"), 1), encoding="utf-8")
    disk = load_catalogue(root).catalogue
    cal = WorkCalendar.from_documents([d.data for d in live.calendars.values()])
    assert admin_whatif.calendar_of(live, live, cal) is cal
    assert not admin_whatif.calendar_of(disk, live, cal).is_working_day(date(2026, 4, 7))
    assert cal.is_working_day(date(2026, 4, 7))
