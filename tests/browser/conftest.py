"""End-to-end browser tests: a real server, Debian's Chromium driven by Playwright, axe-core.

Fixtures (all tests in tests/browser; the rest of the suite never starts a browser):

``live_db``       session: the live server's SQLite file (staff accounts, reading the record).
``catalogue``     module: the reference catalogue the live server serves (sample answers, item names).
``live_server``   session: base URL (``http://127.0.0.1:PORT``) of ``yangguang serve`` on the
                  reference catalogue with a fresh SQLite file; server log in ``live_server.log``
                  next to the database (its tail is shown if start-up fails).
``browser``       package (tests/browser): Playwright Chromium launched from ``shutil.which("chromium")``.
``viewport``      "desktop" (1280x800, default) or "phone" (375x740, mobile, touch), or a
                  ``(width, height)`` tuple; override per test with
                  ``@pytest.mark.parametrize("viewport", ["desktop", "phone"])``.
``page``          a fresh context + page per test at ``viewport``, locale zh-CN, Asia/Shanghai;
                  10 s default timeout; on a failing test a screenshot ``FAILED-<test>.png``.
``phone_page``    the same at phone size, for tests that want both at once.
``new_page``      factory: ``new_page("phone")``, ``new_page((800, 600), **context_kwargs)``.
``screenshot``    ``screenshot(page, name) -> Path``: full-page PNG in test-artifacts/screenshots/.
``axe``           ``axe(page, context=None) -> list[violation]``: serious and critical violations;
                  ``axe.check(page, where)`` asserts there are none with a readable message
                  (rule id, impact, help, failing selectors); ``axe.all(page)`` every impact.

Plain helpers: live.py (``serve(tmp, db, **settings)``: another server with its own settings;
where screenshots go), steps.py (what a person does: fill a section page, sign in, act on a case),
a11y.py (axe-core). Test modules import those, never each other nor this file.

If Playwright or Chromium is missing every browser test FAILS (never skips) saying how to
install them.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .a11y import assert_no_violations, axe_script, blocking, run_axe
from .live import SCREENSHOTS, serve

# Headless without stalls on a closed network: no first-run UI, no background fetches, no QUIC.
# Playwright itself adds --headless and a fresh temporary --user-data-dir for every launch.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

VIEWPORTS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True},
}

INSTALL_HINT = (
    "The browser tests (tests/browser) need Playwright for Python and Debian's Chromium:\n"
    "    .venv/bin/pip install -e '.[test]'                 # installs playwright (never run `playwright install`)\n"
    "    apt-get update && apt-get install -y chromium fonts-noto-cjk\n"
    ".ci/run does both on CI."
)


@pytest.fixture(scope="session")
def live_server(_live: tuple[str, Path]) -> str:
    return _live[0]


@pytest.fixture(scope="session")
def live_db(_live: tuple[str, Path]) -> Path:
    """The live server's SQLite file, for tests that set up staff accounts or read the record."""
    return _live[1]


@pytest.fixture(scope="module")
def catalogue(reference: Any) -> Any:
    """The reference catalogue the live server serves (tests/conftest.py's ``reference``, checked once)."""
    return reference.catalogue


@pytest.fixture(scope="session")
def _live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("live_server")
    db = tmp / "yangguang.db"
    # every browser test files from 127.0.0.1: the filing limits (10 an hour) are no test's subject here
    limits = {"YANGGUANG_FILINGS_PER_HOUR_PER_ADDRESS": "100000", "YANGGUANG_FILINGS_PER_DAY_PER_ADDRESS": "100000"}
    with serve(tmp, db, **limits) as base:
        yield base, db


# Package scope, not session: while the sync Playwright API is started it leaves an asyncio
# loop marked running in the main thread, so asyncio.run() in later, non-browser tests
# (tests/web/test_api.py) would fail. The browser stops once the last test of tests/browser ends.
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.fail(f"Playwright is not installed ({exc}).\n{INSTALL_HINT}", pytrace=False)
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail(f"no `chromium` on PATH.\n{INSTALL_HINT}", pytrace=False)
    pw = sync_playwright().start()
    try:
        try:
            browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, timeout=60_000)
        except Exception as exc:
            pytest.fail(f"Playwright could not start {executable}: {exc}\n{INSTALL_HINT}", pytrace=False)
        yield browser
        browser.close()
    finally:
        pw.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    report = yield
    setattr(item, f"_report_{report.when}", report)  # read by ``new_page`` to screenshot failures
    return report


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "-", name).strip("-")[:150] or "page"


def _shoot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{_safe(name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def new_page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    contexts: list[Any] = []

    def make(viewport: str | tuple[int, int] = "desktop", **context_kwargs: Any) -> Any:
        if isinstance(viewport, str):
            if viewport not in VIEWPORTS:
                raise ValueError(f"unknown viewport {viewport!r}; use one of {sorted(VIEWPORTS)} or (width, height)")
            options = dict(VIEWPORTS[viewport])
        else:
            options = {"viewport": {"width": viewport[0], "height": viewport[1]}}
        options = {"locale": "zh-CN", "timezone_id": "Asia/Shanghai", **options, **context_kwargs}
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make

    report = getattr(request.node, "_report_call", None)
    for i, context in enumerate(contexts):
        if report is not None and report.failed:
            for j, pg in enumerate(context.pages):
                try:
                    _shoot(pg, f"FAILED-{request.node.name}-{i}-{j}")
                except Exception:  # the page may be gone; the test's own error is what matters
                    pass
        context.close()


@pytest.fixture
def viewport() -> str | tuple[int, int]:
    return "desktop"


@pytest.fixture
def page(new_page: Callable[..., Any], viewport: str | tuple[int, int]) -> Any:
    return new_page(viewport)


@pytest.fixture
def phone_page(new_page: Callable[..., Any]) -> Any:
    return new_page("phone")


@pytest.fixture(scope="session")
def screenshot() -> Callable[[Any, str], Path]:
    return _shoot


class Axe:
    """``axe(page)`` → serious/critical violations; ``axe.check(page)`` asserts there are none."""

    def __init__(self, script: str) -> None:
        self.script = script

    def all(self, page: Any, context: Any = None, options: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        violations: list[dict[str, Any]] = run_axe(page, self.script, context, options)["violations"]
        return violations

    def __call__(self, page: Any, context: Any = None, options: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return blocking(self.all(page, context, options))

    def check(self, page: Any, where: str = "") -> None:
        assert_no_violations(self(page), where or page.url)


@pytest.fixture(scope="session")
def axe() -> Axe:
    try:
        script = axe_script()
    except ImportError as exc:
        pytest.fail(f"axe-playwright-python (it bundles axe-core) is missing ({exc}).\n{INSTALL_HINT}", pytrace=False)
    return Axe(script)
