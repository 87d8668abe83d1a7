"""Every kind of page a person sees, as the layout test (tests/browser/test_layout.py) and the
one-language test (tests/web/test_one_language.py) both visit them: one list, so a page added to
the site is measured at three widths and read in both languages alike.

``s`` holds what an applicant's journey made: the first form page, the materials, check and done
pages, and the submitted case's number; ``s["appeal"]`` the number of a complaint filed with
:func:`file_appeal`."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from types import SimpleNamespace
from typing import Any

BIGGEST = "QQ-HOUSING-XK-003"  # the most materials (12) and a long guide
LONGEST = "QQ-AMR-XK-103"  # the largest item file
SMALL = "QQ-REALESTATE-DJ-102"
CHAIN = "construction"


def public_pages(s: dict[str, Any]) -> list[tuple[str, str]]:
    """The applicant's pages, in the order a visit can take them (the form before its materials)."""
    return [
        ("home", "/"),
        ("search", "/?q=施工"),
        ("search-none", "/?q=没有这个词"),
        ("item-biggest", f"/items/{BIGGEST}"),
        ("item-longest", f"/items/{LONGEST}"),
        ("item-small", f"/items/{SMALL}"),
        ("chain", f"/chains/{CHAIN}"),
        ("chain-organization", "/chains/organization"),
        ("chain-form", f"/chains/{CHAIN}/apply"),
        ("form", s["first_form"]),
        ("materials", s["materials"]),
        ("check", s["check"]),
        ("done", s["done"]),
        ("appeal-new", "/appeals/new"),
        ("appeal-follow", "/appeals/follow"),
        ("progress-find", "/progress"),
        ("progress", f"/progress/{s['number']}"),
        ("announcements", "/announcements"),
        ("sunshine", "/sunshine"),
        ("desk-login", "/desk/login"),
        ("booking", "/booking"),
        ("booking-slots", "/booking/realestate"),
        ("home-visit", f"/home-visit/{SMALL}"),
        ("hall", "/hall/realestate"),
        ("error-404", "/items/NO-SUCH-ITEM"),
    ]


def staff_pages(s: dict[str, Any]) -> list[tuple[str, str]]:
    """The staff's pages, seen by an administrator (who may open each of them)."""
    return [
        ("desk-worklist", "/desk"),
        ("desk-case", f"/desk/cases/{s['number']}"),
        ("desk-chains", "/desk/chains"),
        ("desk-appeals", "/desk/appeals"),
        ("desk-appeal", f"/desk/appeals/{s['appeal']}"),
        ("desk-bookings", "/desk/bookings?counter=realestate"),
        ("desk-home-visits", "/desk/home-visits"),
        ("supervision", "/supervision"),
        ("supervision-cases", "/supervision/cases"),
        ("supervision-corrections", "/supervision/corrections"),
        ("admin", "/admin"),
        ("admin-preview", f"/admin/items/{BIGGEST}"),
        ("admin-form-preview", f"/admin/items/{BIGGEST}/form"),
        ("admin-outbox", "/admin/outbox"),
        ("admin-whatif", "/admin/items/QQ-TRANSPORT-XK-102/whatif?promised=5"),
    ]


#: what :func:`file_appeal` types (the person's own words: the one-language test leaves them as they are)
APPEAL = {
    "kind": "complaint",
    "subject": "窗口办理超期未告知原因",
    "body": "提交申请三周后仍未受理，电话询问也没有答复。",
    "filer_name": "张三",
    "contact": "13800000000",
    "named_department": "realestate",
}


def clerk_pages(s: dict[str, Any]) -> list[tuple[str, str]]:
    """The pages only a window clerk opens (an administrator may not record a call: engine.service.access)."""
    return [("desk-appeal-record", "/desk/appeals/record")]


class Http:
    """A browser without a page for a live server (its cookies kept): ``get`` and ``post`` a form, answering
    what a TestClient answers (``status_code``, ``text``)."""

    def __init__(self) -> None:
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, url: str) -> SimpleNamespace:
        return self._open(urllib.request.Request(url))

    def post(self, url: str, data: dict[str, str]) -> SimpleNamespace:
        return self._open(urllib.request.Request(url, urllib.parse.urlencode(data).encode(), method="POST"))

    def _open(self, request: urllib.request.Request) -> SimpleNamespace:
        try:
            with self.opener.open(request, timeout=30) as r:
                return SimpleNamespace(status_code=r.status, text=r.read().decode())
        except urllib.error.HTTPError as e:
            return SimpleNamespace(status_code=e.code, text=e.read().decode())


def file_appeal(client: Any, base: str = "") -> str:
    """File a complaint on the portal with ``client`` (a TestClient, or :class:`Http` on a live server at
    ``base``); its number."""
    form = client.get(f"{base}/appeals/new")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert form.status_code == 200 and token, form.text
    data = {"csrf": token.group(1), **APPEAL}
    done = client.post(f"{base}/appeals/new", data=data)
    number = re.search(r'id="appeal-number">([A-Z0-9]+)<', done.text)
    assert done.status_code == 200 and number, done.text
    return number.group(1)
