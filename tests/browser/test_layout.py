"""Every kind of page at phone and desktop widths (320, 390 and 1280 px), measured the way a
person would notice: nothing scrolls sideways, no text is smaller than 14 px, the header's
links stay inside the red bar without covering each other and read at WCAG AA contrast (4.5:1),
and axe-core finds no serious problem. A full-page screenshot of every page at 390 px goes to
test-artifacts/screenshots/390/ for a person to look at. Also: the favicon answers, and the
skip link is the first thing Tab reaches and moves focus to the main content."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.pages import BIGGEST, LONGEST, SMALL, Http, clerk_pages, file_appeal, public_pages, staff_pages
from support.portal import PDF

from engine.ledger.db import open_engine
from engine.service.accounts import add_user
from engine.service.samples import sample_application

from .live import SCREENSHOTS
from .steps import PASSWORD, do, fill_page, login

ADMIN = "admin.layout.e2e"
WIDTHS = (320, 390, 1280)
MIN_FONT_PX = 14.0
AA = 4.5

# Measured inside the page: everything a person would notice, in one pass.
MEASURE = """() => {
  const out = {scrollWidth: document.documentElement.scrollWidth, small: [], overlaps: [], outside: [], contrast: []};
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1) return null;  // hidden, or visually hidden for screen readers (.sr)
    const cs = getComputedStyle(el);
    if (cs.visibility === 'hidden' || cs.display === 'none' || parseFloat(cs.opacity) === 0) return null;
    return r;
  };
  const name = (el) => (el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '') +
    ' "' + (el.textContent || '').trim().slice(0, 20) + '"');
  // what sticks out past the right edge (the innermost boxes), to name in the failure
  const edge = document.documentElement.clientWidth;
  out.wide = [...document.body.querySelectorAll('*')].filter((el) => {
    const r = el.getBoundingClientRect();
    if (r.right <= edge + 1 || [...el.children].some((c) => c.getBoundingClientRect().right > edge + 1)) return false;
    for (let a = el.parentElement; a; a = a.parentElement)  // inside a box that scrolls or clips within the screen
      if (getComputedStyle(a).overflowX !== 'visible' && a.getBoundingClientRect().right <= edge + 1) return false;
    return true;
  }).slice(0, 4).map((el) => name(el) + ' to ' + Math.round(el.getBoundingClientRect().right) + 'px');
  // text smaller than 14 px: every element that directly holds visible text (SVG text at its drawn size)
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || !el || seen.has(el)) continue;
    seen.add(el);
    if (el.closest('script,style,title,desc')) continue;
    const r = visible(el);
    if (!r) continue;
    let size = parseFloat(getComputedStyle(el).fontSize);
    const svg = el.closest('svg');
    if (svg && svg.getScreenCTM) {  // drawn size: the font size in user units times the SVG's scale
      const m = (el.getScreenCTM ? el.getScreenCTM() : null) || svg.getScreenCTM();
      if (m) size = size * Math.sqrt(m.a * m.a + m.b * m.b);
    }
    if (size < MIN - 0.01) out.small.push(name(el) + ' ' + size.toFixed(1) + 'px');
  }
  // the header's links and buttons: inside the bar, not over each other, readable on its colour
  const header = document.querySelector('body > header');
  const bg = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor;
      const m = c.match(/[\\d.]+/g).map(Number);
      if (m.length < 4 || m[3] > 0) return m;
    }
    return [255, 255, 255, 1];
  };
  const lum = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  if (header) {
    const hr = header.getBoundingClientRect();
    const links = [...header.querySelectorAll('a, button')].filter((el) => visible(el));
    const rects = links.map((el) => el.getBoundingClientRect());
    links.forEach((el, i) => {
      const r = rects[i];
      if (r.top < hr.top - 0.5 || r.bottom > hr.bottom + 0.5 || r.left < hr.left - 0.5 || r.right > hr.right + 0.5)
        out.outside.push(name(el));
      for (let j = i + 1; j < links.length; j++) {
        const s = rects[j];
        const w = Math.min(r.right, s.right) - Math.max(r.left, s.left);
        const h = Math.min(r.bottom, s.bottom) - Math.max(r.top, s.top);
        const nested = el.contains(links[j]) || links[j].contains(el);
        if (w > 0.5 && h > 0.5 && !nested) out.overlaps.push(name(el) + ' / ' + name(links[j]));
      }
      const fg = getComputedStyle(el).color.match(/[\\d.]+/g).map(Number);
      const back = bg(el);
      const [hi, lo] = [lum(fg), lum(back)].sort((a, b) => b - a);
      const ratio = (hi + 0.05) / (lo + 0.05);
      if (ratio < AA) out.contrast.push(name(el) + ' ' + ratio.toFixed(2) + ':1');
    });
    if (!links.length) out.outside.push('no visible link in the header');
  }
  return out;
}""".replace("MIN", str(MIN_FONT_PX)).replace("AA", str(AA))


@pytest.fixture(scope="module")
def staff(live_db: Path) -> Iterator[None]:
    db = open_engine(live_db)
    for name, role, dept in ((ADMIN, "admin", None), ("window.realestate.layout", "window", "realestate")):
        try:
            add_user(db, name, role, dept, PASSWORD)
        except ValueError:  # already there
            pass
    db.dispose()
    yield


@pytest.fixture(scope="module")
def journey(live_server: str, staff: None, catalogue: Any, browser: Any, tmp_path_factory: Any) -> dict[str, Any]:
    """Applications made in the browser once (the check, done and progress pages need the
    applicant's cookies), the case accepted, and a signed-in administrator: each width's pages
    reuse these cookies."""
    base = live_server
    pdf = tmp_path_factory.mktemp("layout") / "材料.pdf"
    pdf.write_bytes(PDF)
    ctx = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    ctx.set_default_timeout(10_000)
    page = ctx.new_page()

    def until_check(code: str, params: dict[str, Any]) -> tuple[str, str, str]:
        """Answer every page of ``code``'s form and upload its materials: the pages' addresses."""
        data, _ = sample_application(catalogue, catalogue.items[code], params)
        page.goto(f"{base}/apply/{code}")
        first_form = page.url
        while page.get_by_role("button", name="保存并继续").count():
            section = page.url.split("?")[0].rsplit("/", 1)[1]
            fill_page(page, section, data.get(section, {}))
            page.get_by_role("button", name="保存并继续").click()
        materials = page.url
        for box in page.locator('input[type="file"]').all():
            box.set_input_files(str(pdf))
        page.get_by_role("button", name="上传并继续").click()
        return first_form, materials, page.url

    # the biggest item's form, materials and check pages (not submitted: they stay what they are);
    # a small item submitted for the done, progress, desk and announcement pages
    first_form, materials, check = until_check(BIGGEST, {})
    until_check(SMALL, {"realestate.certificate_copies": 2})
    page.get_by_role("button", name="提交申请").click()
    page.locator("#case-number").wait_for()
    done = page.url
    number = page.locator("#case-number").inner_text()
    query_code = page.locator("#query-code").inner_text()
    page.goto(base + "/progress")
    page.get_by_label("办件编号").fill(number)
    page.get_by_label("查询码").fill(query_code)
    page.get_by_role("button", name="查询").click()
    page.wait_for_url(re.compile(rf"/progress/{number}$"))
    applicant = ctx.storage_state()
    ctx.close()

    clerk = login(lambda _: browser.new_context(locale="zh-CN").new_page(), base, "window.realestate.layout")
    do(clerk, base, number, "accept")  # accepted: the case is in the announcements too
    clerk_cookies = clerk.context.storage_state()
    clerk.context.close()

    ctx = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    page = ctx.new_page()
    page.goto(base + "/desk/login")
    page.get_by_label("用户名").fill(ADMIN)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/(desk|admin)$"))
    admin = ctx.storage_state()
    ctx.close()
    appeal = file_appeal(Http(), base)  # a complaint for the desk's appeal page
    return {
        "number": number,
        "first_form": first_form,
        "materials": materials,
        "check": check,
        "done": done,
        "appeal": appeal,
        "applicant": applicant,
        "admin": admin,
        "clerk": clerk_cookies,
    }


def layout_public_pages(j: dict[str, Any]) -> list[tuple[str, str]]:
    """Every applicant's page, and the first form page sent empty (its error summary) right after it."""
    pages = public_pages(j)
    at = [name for name, _ in pages].index("form") + 1
    return [*pages[:at], ("form-errors", "POST"), *pages[at:]]


def layout_staff_pages(j: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        *staff_pages(j),
        # English last: ?lang=en is remembered for the rest of the visit
        ("home-en", "/?lang=en"),
        ("item-biggest-en", f"/items/{BIGGEST}"),
        ("desk-case-en", f"/desk/cases/{j['number']}"),
    ]


def shoot(page: Any, name: str) -> None:
    """The full page at 390 px, for a person to look at: test-artifacts/screenshots/390/NAME.png."""
    folder = SCREENSHOTS / "390"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def measure(page: Any, width: int, where: str) -> list[str]:
    m = page.evaluate(MEASURE)
    problems = []
    if m["scrollWidth"] > width:
        problems.append(
            f"{where}: the page is {m['scrollWidth']} px wide at {width} px (it scrolls sideways): "
            + "; ".join(m["wide"])
        )
    for what, words in (
        ("small", f"text under {MIN_FONT_PX:g} px"),
        ("outside", "header link outside the header bar"),
        ("overlaps", "header links on top of each other"),
        ("contrast", f"header link under {AA}:1 contrast"),
    ):
        if m[what]:
            problems.append(f"{where}: {words}: " + "; ".join(m[what][:6]) + (" …" if len(m[what]) > 6 else ""))
    return problems


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_and_reads(
    live_server: str, journey: dict[str, Any], browser: Any, width: int, axe: Any
) -> None:
    phone = width < 1000
    options: dict[str, Any] = {"viewport": {"width": width, "height": 800}, "locale": "zh-CN"}
    if phone:
        options |= {"is_mobile": True, "has_touch": True}
    problems: list[str] = []
    visits = (
        (journey["applicant"], layout_public_pages(journey)),
        (journey["admin"], layout_staff_pages(journey)),
        (journey["clerk"], clerk_pages(journey)),
    )
    for cookies, pages in visits:
        ctx = browser.new_context(storage_state=cookies, timezone_id="Asia/Shanghai", **options)
        ctx.set_default_timeout(10_000)
        page = ctx.new_page()
        try:
            for name, path in pages:
                if path == "POST":  # send the first form page empty
                    page.goto(f"{live_server}/apply/{LONGEST}")
                    page.get_by_role("button", name="保存并继续").click()
                    page.locator("#error-summary").wait_for()
                else:
                    page.goto(path if path.startswith("http") else live_server + path)
                where = f"{name} ({path if path != 'POST' else 'form with errors'}) at {width} px"
                problems += measure(page, width, where)
                violations = axe(page)
                if violations:
                    problems.append(f"{where}: axe: " + ", ".join(v["id"] for v in violations))
                if width == 390:
                    shoot(page, name)
        finally:
            ctx.close()
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems)


def test_the_favicon(live_server: str, page: Any) -> None:
    page.goto(live_server + "/")
    icon = page.locator('link[rel="icon"]').first.get_attribute("href")
    assert icon
    for path, kind in ((icon, "image/svg+xml"), ("/favicon.ico", "image/")):
        answer = page.request.get(live_server + path)
        assert answer.status == 200, f"{path} answered {answer.status}"
        assert answer.headers["content-type"].startswith(kind), answer.headers["content-type"]
        assert answer.body(), f"{path} is empty"


@pytest.mark.parametrize("path", ["/", f"/items/{BIGGEST}", "/desk/login", "/items/NO-SUCH-ITEM"])
def test_tab_then_enter_skips_to_the_main_content(live_server: str, new_page: Any, path: str) -> None:
    from playwright.sync_api import expect

    page = new_page((390, 800))
    page.goto(live_server + path)
    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    expect(skip).to_have_text("跳到正文")
    expect(skip).to_be_visible()  # hidden until focused, then shown over the header
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")  # the next Tab goes on from the content, not back to the header
    assert page.evaluate("() => document.querySelector('main').contains(document.activeElement)")


def test_the_skip_link_in_english(live_server: str, new_page: Any) -> None:
    from playwright.sync_api import expect

    page = new_page("desktop")
    page.goto(live_server + "/?lang=en")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to main content")


def test_the_guide_on_a_phone_and_on_a_desk(live_server: str, new_page: Any) -> None:
    from playwright.sync_api import expect

    lines = """(sel) => [...document.querySelectorAll(sel)].map((el) => {
      const range = document.createRange();
      range.selectNodeContents(el);
      return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
    })"""
    desk = new_page("desktop")
    desk.goto(f"{live_server}/items/{BIGGEST}")
    # every key-fact label on one line ("设定依据", not "设定依" over "据")
    assert set(desk.evaluate(lines, "table.facts th")) == {1}
    assert desk.locator("#materials").evaluate("e => getComputedStyle(e).display") == "table"
    expect(desk.locator("#materials thead")).to_be_visible()

    phone = new_page((320, 800))
    phone.goto(f"{live_server}/items/{BIGGEST}")
    # each material a card: the column headings hidden, each value under its own column's name
    box = phone.locator("#materials thead").bounding_box()  # kept for screen readers, 1 px and clipped
    assert box is not None and box["height"] <= 1 and box["width"] <= 1
    cell = phone.locator("#materials tbody tr").first.locator("td[data-label]").first
    assert cell.evaluate("e => getComputedStyle(e, '::before').content") == '"要求"'
    # a number keeps its unit: the condition "建筑面积在 300 平方米以上" never breaks inside "300 平方米"
    unit = phone.locator(".nw", has_text="300 平方米").first
    assert unit.evaluate("e => getComputedStyle(e).whiteSpace") == "nowrap"
    assert phone.evaluate(lines, ".nw").count(1) == phone.locator(".nw").count()
