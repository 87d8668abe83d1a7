"""Every element of the national implementation list (实施清单) an item can carry is written in YAML, checked, and
shown the same way by `yangguang show`, the guide page and the JSON API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from engine.check.pipeline import load
from engine.cli.main import main
from engine.web.app import create_app

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "checks" / "not-stated"
DEVICES = "QQ-AMR-XK-103"  # 第三类医疗器械经营许可: a reference item with every element filled in
PHARMACY = "QQ-AMR-XK-104"  # 药品零售企业经营许可


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    reference = load(REPO)
    app = create_app(REPO, tmp_path_factory.mktemp("db") / "elements.db", reference.catalogue, sweep_seconds=0)
    with TestClient(app) as c:
        yield c


def test_the_reference_items_with_every_element_check_clean_even_under_strict() -> None:
    result = load(REPO)
    files = {result.catalogue.items[code].file for code in (DEVICES, PHARMACY)}
    assert [p.render() for p in result.problems if p.file in files] == []  # no error, no warning
    for code in (DEVICES, PHARMACY):
        data = result.catalogue.items[code].data
        for key in (
            "national_item", "version", "state", "department_nature", "accepting_body", "deciding_body",
            "implementation_basis", "handling_basis", "conditions_basis", "service_objects", "handling_forms",
            "flows", "published_guide",
        ):  # fmt: skip
            assert key in data, (code, key)
        assert all("office" in s and "post" in s for s in data["steps"])
        assert any(m.get("applicant_signs") and m.get("paper_size") and m.get("blank_form") for m in data["materials"])


def test_show_prints_each_element_under_its_own_heading(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", DEVICES]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    for line in (
        "行政许可事项：第三类医疗器械经营许可",
        "业务办理项：第三类医疗器械经营许可证核发（新办）",
        "事项版本：1",
        "事项状态：在用",
        "实施主体性质：法定机关",
        "受理机构：齐齐哈尔市政务服务中心市场监管窗口（C 区）",
        "决定机构：齐齐哈尔市市场监督管理局",
        "设定依据：《医疗器械监督管理条例（国务院令第739号）》第四十二条",
        "实施依据：《医疗器械经营监督管理办法（国家市场监督管理总局令第54号）》全文",
        "办理依据：《中华人民共和国行政许可法》第三十二条；《中华人民共和国行政许可法》第四十二条",
        "受理条件依据：《医疗器械监督管理条例（国务院令第739号）》第四十条",
        "服务对象：企业法人、非法人企业",
        "办理形式：窗口办理、网上办理、快递申请",
        "线下办理流程：",
        "线上办理流程：",
        "咨询方式：电话 12345；网址 https://zwfw.hlj.gov.cn；"
        "地址 齐齐哈尔市政务服务中心（市民服务大厅）C 区市场监管窗口",
        "监督投诉：电话 12315、12345；网址 https://www.12315.cn",
        "指南来源：https://zwfw.hlj.gov.cn",
    ):
        assert line in lines, line
    # a step names its office and post; a material its paper, signature and blank form
    assert "材料审查（承办人，药品医疗器械监管科室审查岗，3个工作日）" in out
    assert (
        "1. 医疗器械经营许可申请表 —— 必需；原件1份，A4纸张，用黑色墨水笔或者打印填写，不得涂改；"
        "电子版 pdf/ofd，不超过 10 MB；来源：申请人自备；需申请人签字（盖章）；"
        "空白表格：医疗器械经营许可申请表.docx；示例样表：医疗器械经营许可申请表（示例）.pdf"
    ) in out
    # omitted counts are not printed as 0: the shared licence states only that no paper is needed
    assert "2. 营业执照 —— 必需；无需纸质材料" in out


def test_the_guide_page_shows_the_elements_with_links(client: TestClient) -> None:
    page = client.get(f"/items/{DEVICES}").text
    for heading in ("受理机构", "决定机构", "设定依据", "实施依据", "办理依据", "受理条件依据", "办理形式", "事项状态"):
        assert f'<th scope="row">{heading}</th>' in page, heading
    assert "<h3>线下办理流程</h3>" in page and "<h3>线上办理流程</h3>" in page
    assert '<a href="tel:12315">12315</a>、<a href="tel:12345">12345</a>' in page
    assert '<a href="https://www.12315.cn">https://www.12315.cn</a>' in page
    assert "需申请人签字（盖章）" in page and "A4纸张" in page and "空白表格：医疗器械经营许可申请表.docx" in page
    assert f'href="/apply/{DEVICES}"' in page  # in use, materials stated: it can be applied for
    english = client.get(f"/items/{DEVICES}?lang=en").text
    for heading in ("Accepting body", "Deciding body", "Implementation basis", "Handling basis", "Offline flow"):
        assert heading in english, heading
    assert '<th scope="row">受理机构</th>' not in english and '<th scope="row">实施依据</th>' not in english


def test_the_api_gives_the_whole_guide(client: TestClient) -> None:
    client.cookies.clear()  # an earlier test's ?lang=en is remembered: the API answers in the request's language
    body = client.get(f"/api/items/{PHARMACY}").json()
    assert body["item"]["code"] == PHARMACY and body["item"]["state"] == "in_use"
    guide = body["guide"]
    assert [heading for heading, _ in guide["bases"]] == ["设定依据", "实施依据", "办理依据", "受理条件依据"]
    assert (
        guide["accepting_body"].startswith("齐齐哈尔市政务服务中心")
        and guide["deciding_body"] == "齐齐哈尔市市场监督管理局"
    )
    assert guide["applicants"] == "企业法人、非法人企业、个体工商户"
    assert ["事项状态", "在用"] in guide["identity"] and ["实施主体性质", "法定机关"] in guide["identity"]
    assert [c["label"] for c in guide["complaint"]] == ["电话", "网址"]
    assert [v["text"] for v in guide["complaint"][0]["values"]] == ["12315", "12345"]
    assert guide["flows"][0][0] == "线下办理流程" and len(guide["flows"][0][1]) == 5
    assert guide["guide"] == [["指南来源", {"text": "https://zwfw.hlj.gov.cn", "href": "https://zwfw.hlj.gov.cn"}]]
    application = guide["materials"][0]
    assert application["signs"] is True and application["copies"] is None and application["originals"] == 1
    assert application["blank_form"] == {"text": "药品经营许可证申请表（零售）.docx", "href": None}


@pytest.mark.parametrize(
    ("contact", "where", "kind"),
    [
        ('{phone: "12a45"}', "contact.phone", "format"),
        ('{phone: ["12345", "0452-27"]}', "contact.phone[1]", "format"),
        ("{email: zwfw@}", "contact.email", "format"),
        ("{web: 黑龙江政务服务网}", "contact.web", "format"),
        ('{web: ["https://zwfw.hlj.gov.cn", "zwfw.hlj.gov.cn"]}', "contact.web[1]", "format"),
    ],
)
def test_every_channel_is_validated(tmp_path: Path, contact: str, where: str, kind: str) -> None:
    root = tmp_path / "cat"
    (root / "items").mkdir(parents=True)
    (root / "center.yaml").write_bytes((FIXTURE / "center.yaml").read_bytes())
    text = (FIXTURE / "items" / "b.yaml").read_text(encoding="utf-8")
    (root / "items" / "b.yaml").write_text(text + f"contact: {contact}\n", encoding="utf-8")
    problems = [p for p in load(root).problems if p.is_error]
    assert [p.kind for p in problems] == [kind], [p.render() for p in problems]
    assert where in problems[0].message and problems[0].line == 21  # the contact line (b.yaml has 20)


def test_several_valid_channels_of_each_kind_check_clean(tmp_path: Path) -> None:
    root = tmp_path / "cat"
    (root / "items").mkdir(parents=True)
    (root / "center.yaml").write_bytes((FIXTURE / "center.yaml").read_bytes())
    text = (FIXTURE / "items" / "b.yaml").read_text(encoding="utf-8")
    contact = (
        'contact: {phone: ["12345", "0452-2711234", "0452-2711234转801", "400-123-4567"], '
        'email: [zwfw@qqhr.gov.cn, a.b@example.org], web: ["https://zwfw.hlj.gov.cn/item?id=1", "http://a.cn"]}\n'
    )
    (root / "items" / "b.yaml").write_text(text + contact, encoding="utf-8")
    assert [p.render() for p in load(root).problems if p.is_error] == []
