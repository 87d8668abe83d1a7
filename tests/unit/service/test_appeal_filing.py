"""Filing requests and complaints, as the review of issue 19 found them wanting: an address's filings are
limited (as case filings are), parallel filings on PostgreSQL all get distinct gapless numbers, a typed case
number is taken alike whether a case has it or not, an item may be named, and a stale page is a conflict."""

from __future__ import annotations

import pytest
from support.appeals import complaint, enquiry, row
from support.bookings import race
from support.cases import file_case

from engine.ledger.db import open_engine
from engine.ledger.migrations import migrate
from engine.rules.cases.model import ActionRefused, Actor
from engine.service import appeal_lists, filing_limits
from engine.service import appeals as svc_appeals
from engine.service.accounts import add_user
from engine.service.cases import CaseService
from engine.service.samples import sample_application

OFFICE = Actor("window.complaints", "window", "complaints")
ITEM = "QQ-AMR-XK-103"  # a licence of the market regulator (amr)


@pytest.fixture
def service(case_service: CaseService, cheap_hashes: None) -> CaseService:
    add_user(case_service.db, OFFICE.username, OFFICE.role, OFFICE.department, password="demo-password")
    return case_service


def test_an_address_files_its_limit_then_is_told_when_to_try_again(service: CaseService) -> None:
    bot = filing_limits.Filer("203.0.113.9", per_hour=3, per_day=10)
    numbers = [svc_appeals.file(service, complaint(), filer=bot)[0] for _ in range(3)]
    with pytest.raises(filing_limits.TooMany) as refused:
        svc_appeals.file(service, complaint(), filer=bot)
    assert 0 < refused.value.seconds <= 3600 and "分钟后再提交" in str(refused.value)
    assert len(appeal_lists.worklist(service, OFFICE)) == 3  # nothing of the refused one was kept
    # another address, and a clerk recording for a caller (a whole office shares one address), file on
    other = filing_limits.Filer("198.51.100.7", per_hour=3, per_day=10)
    numbers.append(svc_appeals.file(service, complaint(), filer=other)[0])
    numbers.append(svc_appeals.file(service, complaint(channel="phone"), OFFICE)[0])
    assert len(set(numbers)) == 5
    service.clock.advance(hours=1)  # type: ignore[attr-defined]
    svc_appeals.file(service, complaint(), filer=bot)  # the hour has passed


def test_appeals_and_case_filings_count_against_one_limit(service: CaseService) -> None:
    bot = filing_limits.Filer("203.0.113.9", per_hour=2, per_day=10)
    svc_appeals.file(service, complaint(), filer=bot)
    svc_appeals.file(service, complaint(), filer=bot)
    with pytest.raises(filing_limits.TooMany):
        file_case_as(service, bot)


def file_case_as(service: CaseService, filer: filing_limits.Filer) -> None:
    doc = service.catalogue.items[ITEM]
    data, uploads = sample_application(service.catalogue, doc, {})
    service.submit(ITEM, data, uploads, Actor("zhang", "applicant"), "bot-1", filer=filer)


def test_parallel_filings_on_postgresql_all_succeed_with_gapless_numbers(service: CaseService, pg_url: str) -> None:
    db = open_engine(pg_url)
    try:
        migrate(db)
        pg = CaseService(service.catalogue, db, service.clock, service.calendar)
        results = race(24, lambda i: svc_appeals.file(pg, complaint(subject=f"第 {i} 件"))[0])
        assert all(isinstance(r, str) for r in results), results
        suffixes = sorted(int(r[-4:]) for r in results)
        assert suffixes == list(range(1, 25))
    finally:
        db.dispose()


def test_a_case_number_is_taken_alike_whether_a_case_has_it_or_not(service: CaseService) -> None:
    case_number = file_case(service)  # a case of the housing department (support.cases.PERMIT)
    department = service.load(case_number)[0].department
    real, _ = svc_appeals.file(service, enquiry(case_number=case_number.lower()))
    made_up, _ = svc_appeals.file(service, enquiry(case_number="QQ20260101999999"))
    # the enquiry about a real case goes, inside, to that case's department; nothing tells the filer so
    assert (row(service, real)["case_number"], row(service, real)["handler"]) == (case_number, department)
    assert [a["number"] for a in appeal_lists.for_case(service, case_number)] == [real]
    assert (row(service, made_up)["case_number"], row(service, made_up)["handler"]) == (
        "QQ20260101999999", "complaints"
    )  # fmt: skip
    with pytest.raises(ActionRefused) as refused:  # only its length is checked, alike for both
        svc_appeals.file(service, enquiry(case_number="Q" * 33))
    assert refused.value.code == "invalid"


def test_an_item_may_be_named_and_an_unknown_one_is_refused(service: CaseService) -> None:
    number, _ = svc_appeals.file(service, enquiry(item_code=ITEM))
    r = row(service, number)
    assert (r["item_code"], r["named_department"], r["handler"]) == (ITEM, "amr", "amr")
    with pytest.raises(ActionRefused) as refused:
        svc_appeals.file(service, enquiry(item_code="NO-SUCH-ITEM"))
    assert refused.value.code == "invalid" and "事项" in refused.value.message


def test_a_stale_page_is_a_conflict_even_when_the_state_moved_on(service: CaseService) -> None:
    number, _ = svc_appeals.file(service, complaint())
    svc_appeals.act(service, number, OFFICE, "answer", 1, {"text": "已督促办理。"})
    # a second page still showing version 1 offers "assign", which the answered state no longer takes
    with pytest.raises(ActionRefused) as refused:
        svc_appeals.act(service, number, OFFICE, "assign", 1, {"assignee": OFFICE.username})
    assert (refused.value.code, refused.value.message) == ("conflict", svc_appeals.STALE)
