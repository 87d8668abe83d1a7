"""Every kind of page a person sees, as the layout test (tests/browser/test_layout.py) and the
one-language test (tests/web/test_one_language.py) both visit them: one list, so a page added to
the site is measured at three widths and read in both languages alike.

``s`` holds what an applicant's journey made: the first form page, the materials, check and done
pages, and the submitted case's number."""

from __future__ import annotations

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
        ("desk-bookings", "/desk/bookings?counter=realestate"),
        ("desk-home-visits", "/desk/home-visits"),
        ("supervision", "/supervision"),
        ("supervision-cases", "/supervision/cases"),
        ("supervision-corrections", "/supervision/corrections"),
        ("admin", "/admin"),
        ("admin-preview", f"/admin/items/{BIGGEST}"),
        ("admin-form-preview", f"/admin/items/{BIGGEST}/form"),
        ("admin-outbox", "/admin/outbox"),
    ]
