"""The administrator's page (/admin): who may read it, the live catalogue's health, the errors of
a failed reload, the working-day calendar warnings on the app's clock, and previews of an item's
guide and form from the newest catalogue on disk, exactly as the public will see them.

Re-loads are started here with ``app.reload_now()`` so every step is deterministic; the watcher
and a real server are exercised in tests/web/test_reload.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape
from starlette.testclient import TestClient
from support import copy_catalogue
from support.desk import browser

from engine.base.dates import TZ
from engine.check.pipeline import load
from engine.rules.calendar import MissingCalendar, missing_years
from engine.rules.clock import ManualClock
from engine.service.accounts import add_user
from engine.web.app import create_app

REPO = Path(__file__).resolve().parents[2]
SEAL, SEAL_FILE, SEAL_NAME = "QQ-PSB-BA-001", "items/psb/seal-engraving-filing.yaml", "公章刻制备案"
CULTURE, CULTURE_FILE = "QQ-CULTURE-XK-101", "items/culture/entertainment-venue-licence.yaml"
PASSWORD = "administer-me"
BANNER = "预览（尚未上线）"  # the banner in the page's language (Preview — not live in English)


# ---------------------------------------------------------------- the calendar warning (pure)


def test_no_warning_before_november_when_this_year_is_there() -> None:
    assert missing_years({2025: None, 2026: None}, date(2026, 10, 31)) == []
    assert missing_years([2026], date(2026, 1, 1)) == []


def test_from_the_first_of_november_next_year_is_expected() -> None:
    assert missing_years({2026: None}, date(2026, 11, 1)) == [MissingCalendar(2027, "next")]
    assert missing_years({2026: None}, date(2026, 12, 31)) == [MissingCalendar(2027, "next")]
    assert missing_years({2026: None, 2027: None}, date(2026, 11, 20)) == []


def test_a_missing_current_year_is_always_a_warning_and_comes_first() -> None:
    assert missing_years({2025: None}, date(2026, 3, 1)) == [MissingCalendar(2026, "current")]
    assert missing_years({2027: None}, date(2026, 3, 1)) == [MissingCalendar(2026, "current")]
    assert missing_years({}, date(2026, 11, 2)) == [MissingCalendar(2026, "current"), MissingCalendar(2027, "next")]


# ---------------------------------------------------------------- the page


def edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {rel}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Path, ManualClock]]:
    monkeypatch.setenv("YANGGUANG_CACHE_DIR", str(tmp_path / "cache"))
    root = copy_catalogue(tmp_path / "catalogue")
    clk = ManualClock(datetime(2026, 3, 6, 9, 0, tzinfo=TZ))
    app = create_app(root, tmp_path / "admin.db", clock=clk, sweep_seconds=0, reload_seconds=0)
    for username, role, dept in (
        ("admin", "admin", None),
        ("supervisor", "supervisor", None),
        ("window.culture", "window", "culture"),
    ):
        add_user(app.state.service.db, username, role, dept, PASSWORD)
    with TestClient(app):
        yield app, root, clk


def signed_in(app: Any, username: str) -> TestClient:
    return browser(app, username, PASSWORD)  # this module's accounts have their own password


def main_of(page: str) -> str:
    start = page.index(">", page.index("<main")) + 1  # <main id="main" tabindex="-1">: the skip link's target
    return page[start : page.index("</main>")].strip()


def test_administrators_and_supervisors_may_read_it(site: Any) -> None:
    app, _, _ = site
    for path in ("/admin", f"/admin/items/{SEAL}", f"/admin/items/{SEAL}/form"):
        anonymous = TestClient(app, follow_redirects=False).get(path)
        assert anonymous.status_code == 303 and anonymous.headers["location"] == f"/desk/login?next={path}"
    denied = signed_in(app, "window.culture").get("/admin")
    assert denied.status_code == 403 and "<h1>403</h1>" in denied.text and "Traceback" not in denied.text
    for who in ("admin", "supervisor"):
        page = signed_in(app, who).get("/admin")
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"


def test_the_page_shows_the_live_catalogue(site: Any) -> None:
    app, root, _ = site
    cat = app.state.catalogue
    page = signed_in(app, "admin").get("/admin").text
    assert '<html lang="zh-CN">' in page and "<h1>目录管理</h1>" in page
    live = page.split('id="live"')[1].split("</table>")[0]
    assert cat.version in live and str(root) in live
    for label, n in (("事项数", len(cat.items)), ("收费标准数", len(cat.fees)), ("审批链条数", len(cat.chains))):
        assert f'<th scope="row">{label}</th><td>{n}</td>' in live
    assert "2025、2026" in live
    assert 'id="clean"' in page and "热加载已关闭" in page  # reload_seconds=0 in this fixture
    for code in cat.items:  # every item, with a link to its previews
        assert f'href="/admin/items/{code}"' in page and f'href="/admin/items/{code}/form"' in page
    english = signed_in(app, "admin").get("/admin?lang=en").text
    assert '<html lang="en">' in english and "Catalogue administration" in english and "目录管理" not in english


def test_the_calendar_warning_follows_the_apps_clock(site: Any) -> None:
    app, _, clk = site

    def warnings_at(moment: datetime) -> str | None:
        clk.set(moment)  # signed in afresh: a jump of months ends any session
        page = signed_in(app, "admin").get("/admin").text
        return page.split('id="warnings"')[1].split("</ul>")[0] if 'id="warnings"' in page else None

    assert warnings_at(datetime(2026, 10, 31, 23, 59, tzinfo=TZ)) is None  # still October in Beijing
    november = warnings_at(datetime(2026, 11, 1, 0, 0, tzinfo=TZ))
    assert november is not None and "calendar/2027.yaml" in november and "2026" not in november
    january = warnings_at(datetime(2027, 1, 4, 9, 0, tzinfo=TZ))  # the new year came without its calendar
    assert january is not None and "calendar/2027.yaml" in january and "2028" not in january


def test_a_failed_reload_is_listed_by_file_and_its_good_items_can_be_previewed(site: Any) -> None:
    app, root, _ = site
    admin = signed_in(app, "admin")
    live = app.state.catalogue.version
    same = admin.get(f"/admin/items/{SEAL}")  # nothing pending: the live guide, no banner
    assert same.status_code == 200 and BANNER not in same.text and f"<h1>{SEAL_NAME}</h1>" in same.text

    edit(root, SEAL_FILE, f"name: {SEAL_NAME}", f"name: {SEAL_NAME}（预览）")  # valid
    edit(root, CULTURE_FILE, "\nname: ", "\nname: [")  # a YAML syntax error
    attempt = app.reload_now()
    assert attempt.result == "failed" and app.state.catalogue.version == live
    assert app.state.service.catalogue.version == live
    with TestClient(app) as anyone:
        assert anyone.get("/healthz").json()["pending_errors"] == len(attempt.problems) > 0
        assert f"<h1>{SEAL_NAME}</h1>" in anyone.get(f"/items/{SEAL}").text  # the public sees the live one

    page = admin.get("/admin").text
    errors = page.split('id="errors"')[1].split("</section>")[0]
    assert 'role="alert"' in errors and 'id="clean"' not in page
    for problem in load(root).problems:  # each one, file:line:column: kind: message, under its file
        assert str(escape(problem.render())) in errors
    assert f"<h3><code>{CULTURE_FILE}</code>" in errors
    assert re.search(r"items/culture/entertainment-venue-licence\.yaml:\d+:\d+: error\[yaml-syntax\]", errors)
    rows = page.split('id="items"')[1].split("</table>")[0]
    assert f"<td><code>{SEAL}</code></td><td>{SEAL_NAME}（预览）</td>" in rows and "已修改，未上线" in rows
    missing = page.split('id="missing"')[1].split("</ul>")[0]
    assert CULTURE in missing and CULTURE_FILE in missing

    guide = admin.get(f"/admin/items/{SEAL}")
    assert guide.status_code == 200 and BANNER in guide.text and f"<h1>{SEAL_NAME}（预览）</h1>" in guide.text
    assert attempt.version in guide.text and live in guide.text
    form = admin.get(f"/admin/items/{SEAL}/form")
    assert form.status_code == 200 and BANNER in form.text and "<h1>申请人信息</h1>" in form.text
    assert 'value="preview-not-submittable"' in form.text  # nothing can be submitted from a preview
    assert admin.get(f"/admin/items/{SEAL}/form?page=materials").status_code == 200
    assert admin.get(f"/admin/items/{SEAL}/form?page=nope").status_code == 404
    broken = admin.get(f"/admin/items/{CULTURE}")
    assert broken.status_code == 404 and "Traceback" not in broken.text
    posted = admin.post(f"/apply/{SEAL}/applicant", data={"csrf": "preview-not-submittable"})
    assert posted.status_code == 403  # the live portal refuses a preview's form

    # fixed: it goes live, and the public page is exactly what was previewed
    edit(root, CULTURE_FILE, "\nname: [", "\nname: ")
    assert app.reload_now().result == "switched"
    with TestClient(app) as anyone:
        public = anyone.get(f"/items/{SEAL}").text
    banner = re.compile(r'<section class="panel warn noprint"[^>]*id="preview">.*?</section>\s*', re.S)
    assert banner.sub("", main_of(guide.text)) == main_of(public)
    assert BANNER not in admin.get(f"/admin/items/{SEAL}").text
    assert 'id="clean"' in admin.get("/admin").text


def test_an_item_whose_references_are_broken_is_still_previewed(site: Any) -> None:
    app, root, _ = site
    admin = signed_in(app, "admin")
    edit(root, "forms/contact.yaml", "\nid: ", "\nid: [")  # a form section the seal item uses
    assert app.reload_now().result == "failed"
    for path in (f"/admin/items/{SEAL}", f"/admin/items/{SEAL}/form", f"/admin/items/{SEAL}/form?page=check"):
        answer = admin.get(path)
        assert answer.status_code == 200 and BANNER in answer.text, path


def test_a_preview_that_cannot_be_made_says_why(site: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.rules import notice
    from engine.web.portal import form_view

    def broken(*args: Any) -> Any:
        raise KeyError("a reference the checks did not catch")

    app, _, _ = site
    admin = signed_in(app, "admin")
    monkeypatch.setattr(notice, "build", broken)
    monkeypatch.setattr(form_view, "pages", broken)
    for path in (f"/admin/items/{SEAL}", f"/admin/items/{SEAL}/form"):
        answer = admin.get(path)
        assert answer.status_code == 422 and "/admin" in answer.text and "Traceback" not in answer.text, path
