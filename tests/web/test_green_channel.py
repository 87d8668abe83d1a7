"""绿色通道: the front desk puts a key project's chain application in the green channel with its
designation; the supervision card lists the materials, the promised date and each stage's date
and answerable departments; the supervision dashboard tracks it and lights a late stage red."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from support.cases import chain_application
from support.desk import PASSWORD, browser
from support.portal import csrf

from engine.base.dates import TZ
from engine.rules import clock
from engine.rules.cases.model import ActionRefused, Actor
from engine.service import chains as chain_service
from engine.service import green_channel
from engine.service.accounts import add_user

BASIS = "齐齐哈尔市2026年重点建设项目名单（示例）"


def apply(svc: Any, key: str = "green") -> str:
    data, uploads = chain_application(svc, "construction")
    return chain_service.submit(svc, "construction", data, uploads, Actor("zhou", "applicant"), key).number


def test_a_key_project_is_put_in_the_green_channel_at_acceptance_and_gets_its_card(desk: Any) -> None:
    app, svc, _ = desk
    add_user(svc.db, "front", "frontdesk", None, PASSWORD)
    number = apply(svc)
    front = browser(app, "front")
    page = front.get("/desk/chains").text
    # ticked without saying why: refused, and nothing is accepted
    r = front.post(f"/desk/chains/{number}/accept", data={"csrf": csrf(page), "green_channel": "yes"})
    assert r.status_code == 422 and "列入重点项目的依据" in r.text and 'role="alert"' in r.text
    assert chain_service.waiting(svc)[0]["number"] == number
    r = front.post(
        f"/desk/chains/{number}/accept", data={"csrf": csrf(page), "green_channel": "yes", "green_basis": BASIS}
    )
    assert r.status_code == 303 and r.headers["location"] == "/desk/chains?done=green"
    assert chain_service.state(svc, number).green_channel
    listing = front.get(r.headers["location"]).text
    assert f'href="/desk/chains/{number}/card"' in listing and "效能督办卡已生成" in listing

    card_page = front.get(f"/desk/chains/{number}/card")
    assert card_page.status_code == 200 and BASIS in card_page.text
    found = green_channel.card(svc, number)
    assert found is not None and found.marked_by == "front" and found.basis == BASIS
    assert found.due is not None and found.due == chain_service.state(svc, number).due
    # each stage's date: the application day plus the promised limits of the stages so far.
    # Applied Fri 2026-03-06. Siting: 0 + 10 working days -> Fri 03-20. Planning and EIA in
    # parallel (EIA's 30 natural days count 21.43): 0 + 10 + 5 + 21.43 = 36.43 -> 37 working
    # days: March 9-31 gives 17, April 1-3 gives 20, Mon 04-06 is Qingming, April 7-29 gives 37.
    dates = {s.id: clock.local_date(s.due) for s in found.stages if s.due}
    assert dates["siting"] == date(2026, 3, 20) and dates["planning-and-eia"] == date(2026, 4, 29)
    assert all(a <= b for a, b in zip(list(dates.values()), list(dates.values())[1:], strict=False))
    assert max(dates.values()) <= clock.local_date(found.due)  # never later than the chain's promise
    siting = next(s for s in found.stages if s.id == "siting")
    assert [name for name, _ in siting.departments] == ["齐齐哈尔市自然资源和规划局"]
    assert "首席代表" in card_page.text
    assert len(found.materials) == len(chain_application(svc, "construction")[1])  # one set of materials


def test_the_dashboard_tracks_the_card_and_lights_a_late_stage_red(desk: Any) -> None:
    app, svc, clk = desk
    number = apply(svc)
    chain_service.accept(svc, number, Actor("front", "frontdesk"))
    green_channel.mark(svc, number, Actor("front", "frontdesk"), BASIS)
    supervisor = browser(app, "supervisor")
    page = supervisor.get("/supervision").text
    assert number in page.split('id="green-channel"')[1] and BASIS in page
    assert "基本建设审批链条" in page.split('id="chain-lights"')[1]
    # nobody works the filing; by 03-23 the siting stage's date (03-20) has passed
    clk.set(datetime(2026, 3, 23, 9, 0, tzinfo=TZ))
    found = green_channel.card(svc, number)
    assert found is not None and found.light == "red"
    assert found.late_stage is not None and found.late_stage.id == "filing"  # the first stage still running
    supervisor = browser(app, "supervisor")  # signed in again: the idle session expired meanwhile
    page = supervisor.get("/supervision").text
    row = page.split('id="green-channel"')[1].split("</tbody>")[0]
    assert "红灯" in row and "企业投资项目备案" in row
    assert supervisor.get(f"/desk/chains/{number}/card").status_code == 200  # supervisors read cards too


def test_only_the_front_desk_or_a_supervisor_marks_and_only_once(desk: Any) -> None:
    _app, svc, _ = desk
    number = apply(svc)
    with pytest.raises(ActionRefused) as refused:
        green_channel.mark(svc, number, Actor("w", "window", "housing"), BASIS)
    assert refused.value.code == "forbidden"
    with pytest.raises(ActionRefused):
        green_channel.mark(svc, number, Actor("front", "frontdesk"), "   ")
    green_channel.mark(svc, number, Actor("sup", "supervisor"), BASIS)
    with pytest.raises(ActionRefused) as again:
        green_channel.mark(svc, number, Actor("front", "frontdesk"), BASIS)
    assert again.value.code == "not_allowed"
    assert green_channel.card(svc, apply(svc, "plain")) is None  # an ordinary application has no card
