"""`yangguang diff`: the change notice between two catalogue versions (engine/authoring/diff.py, engine/cli/diff.py)."""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.authoring.diff import KIND_ORDER, Change, compare
from engine.catalogue.model import Catalogue, Document
from engine.check.pipeline import load
from engine.cli import diff as cli_diff
from engine.cli import main as cli
from engine.cli.errors import EXIT_USER, UserError

REPO = Path(__file__).resolve().parents[3]
SMALL = REPO / "tests" / "fixtures" / "checks" / "clean-subfolders"  # two items, no fees or chains
CATALOGUE_PARTS = ("center.yaml", "items", "fees", "forms", "chains", "calendar")

Run = Callable[..., tuple[int, str, str]]
Git = Callable[..., None]


def copy_catalogue(src: Path, dst: Path) -> Path:
    for part in CATALOGUE_PARTS:
        if (src / part).is_dir():
            shutil.copytree(src / part, dst / part)
        elif (src / part).is_file():
            dst.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / part, dst / part)
    return dst


def edit(path: Path, old: str, new: str) -> None:
    """Replace one exact snippet (so a fixture edit that no longer applies fails loudly)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not in {path} exactly once"
    path.write_text(text.replace(old, new), encoding="utf-8")


def loaded(root: Path) -> Catalogue:
    result = load(root)
    assert result.ok, [p.render() for p in result.problems]
    return result.catalogue


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The reference catalogue, and a copy with one edit of every common kind."""
    base = tmp_path_factory.mktemp("diff")
    old, new = copy_catalogue(REPO, base / "old"), copy_catalogue(REPO, base / "new")
    items = new / "items"
    passenger = items / "transport" / "road-passenger-operation-licence.yaml"
    edit(passenger, "  promised:\n    value: 10\n", "  promised:\n    value: 5\n")
    seal = items / "psb" / "seal-engraving-filing.yaml"
    edit(seal, "  - id: loss_notice\n    name: 印章遗失登报声明\n", "  - id: loss_notice\n    name: 印章遗失声明\n")
    edit(
        seal,
        "    kind: identity\n    required: true\n    originals: 1\n    copies: 1\n",
        "    kind: identity\n    required: false\n    originals: 1\n    copies: 2\n",
    )
    edit(seal, 'window: "D01"}', 'window: "D02"}')
    edit(
        seal,
        "  - id: agent_authorisation\n",
        "  - id: seal_sample\n    name: 印模样式\n    required: true\n    formats: [pdf]\n"
        "  - id: agent_authorisation\n",
    )
    idcard = items / "psb" / "resident-id-card-renewal-replacement.yaml"
    text = idcard.read_text(encoding="utf-8")
    start = text.index("  - id: hukou_book\n")
    end = text.index("  - id: ", start + 1)
    idcard.write_text(text[:start] + text[end:], encoding="utf-8")  # remove the household register
    edit(
        items / "realestate" / "mortgage-registration.yaml",
        "  schedule: realestate-registration\n  assess_at: decide\n",
        "  free: true\n  basis:\n    - {law: 示例收费政策文件, article: 全文}\n",
    )
    (items / "education" / "teacher-qualification.yaml").unlink()  # withdrawn
    added = (items / "psb" / "seal-engraving-filing.yaml").read_text(encoding="utf-8")
    added = added.replace("code: QQ-PSB-BA-001\nname: 公章刻制备案\n", "code: QQ-PSB-BA-002\nname: 公章补刻备案\n")
    (items / "psb" / "seal-reengraving-filing.yaml").write_text(added, encoding="utf-8")
    fees = new / "fees" / "realestate-registration.yaml"
    edit(fees, "    kind: fixed\n    amount: 80\n", '    kind: fixed\n    amount: "100.00"\n')
    edit(fees, "    kind: fixed\n    amount: 550\n", '    kind: fixed\n    amount: "550.00"\n')  # the same money
    edit(new / "chains" / "economic.yaml", "promised:\n  value: 30\n", "promised:\n  value: 35\n")
    edit(new / "center.yaml", 'short_name: 发改委, window: "A01"}', 'short_name: 发改委, window: "A02"}')
    return old, new


@pytest.fixture(scope="module")
def changes(versions: tuple[Path, Path]) -> list[Change]:
    return compare(loaded(versions[0]), loaded(versions[1]))


@pytest.fixture
def yangguang(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """Run ``engine.cli.main.main`` with ``diff`` registered (through ``cli_diff.add_parsers`` until the
    lead wires it into engine/cli/main.py), returning (exit code, stdout, stderr)."""
    build = cli.parser

    def parser() -> argparse.ArgumentParser:
        p = build()
        sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
        if "diff" not in sub.choices:
            common = argparse.ArgumentParser(add_help=False)
            common.add_argument("--catalog", type=Path, default=REPO)
            cli_diff.add_parsers(sub, common)
        return p

    monkeypatch.setattr(cli, "parser", parser)

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def texts(changes: list[Change], code: str) -> list[tuple[str, str]]:
    return [(c.kind, c.text) for c in changes if c.code == code]


def test_the_same_catalogue_has_no_changes(reference) -> None:  # type: ignore[no-untyped-def]
    assert compare(reference.catalogue, reference.catalogue) == []


def test_item_changes_in_words(changes: list[Change]) -> None:
    assert texts(changes, "QQ-TRANSPORT-XK-102") == [("promised-limit", "承诺时限 10→5 个工作日")]
    assert texts(changes, "QQ-PSB-BA-001") == [
        ("material-added", "新增材料「印模样式」（seal_sample，必需）"),
        ("material-renamed", "材料更名：「印章遗失登报声明」→「印章遗失声明」"),
        ("material-required", "材料「法定代表人身份证明」必需→非必需"),
        ("material-changed", "材料「法定代表人身份证明」复印件份数 1→2"),
        ("field-changed", "字段 location.window（窗口）已修改：D01→D02"),
    ]
    assert texts(changes, "QQ-PSB-QR-102") == [("material-removed", "删除材料「居民户口簿」（hukou_book）")]
    assert texts(changes, "QQ-EDUCATION-XK-101") == [
        ("item-withdrawn", "取消事项：教师资格认定（高级中学、中等职业学校）（QQ-EDUCATION-XK-101）")
    ]
    assert texts(changes, "QQ-PSB-BA-002") == [
        ("item-added", "新增事项：公章补刻备案（QQ-PSB-BA-002），实施部门 公安局，承诺时限 即办")
    ]
    assert texts(changes, "QQ-REALESTATE-DJ-103") == [
        ("fee-free", "改为不收费（原按收费标准「不动产登记费」收取）"),
        ("field-changed", "字段 fee.assess_at（核定收费环节）已删除（原为 decide）"),
        ("field-changed", "字段 fee.basis（不收费依据）：新增 《示例收费政策文件》全文"),
    ]


def test_a_fee_schedule_is_announced_once_with_the_items_using_it(changes: list[Change]) -> None:
    fee = [c for c in changes if c.subject == "fee"]
    # "550" -> "550.00" is the same amount: not a change
    assert [(c.kind, c.field, c.old, c.new, c.text) for c in fee] == [
        ("fee-line", "lines.residential.amount", 8000, 10000, "收费项目「住宅类不动产登记费」金额 80→100 元")
    ]
    assert fee[0].items == ("QQ-REALESTATE-DJ-101", "QQ-REALESTATE-DJ-102", "QQ-REALESTATE-DJ-103")
    assert not [c for c in changes if c.subject == "item" and c.code == "QQ-REALESTATE-DJ-101"]


def test_chain_and_center_changes(changes: list[Change]) -> None:
    assert texts(changes, "economic") == [("chain-promised", "链条承诺总时限 30→35 个工作日")]
    center = [(c.kind, c.field, c.text) for c in changes if c.subject == "center"]
    assert center == [("department-window", "departments.drc.window", "部门「发改委」窗口 A01→A02")]


def test_order_is_by_subject_then_code_then_kind(changes: list[Change]) -> None:
    subjects = ["item", "fee", "form", "chain", "calendar", "center"]
    keys = [(subjects.index(c.subject), c.code or "", KIND_ORDER.index(c.kind)) for c in changes]
    assert keys == sorted(keys)


def test_text_notice_groups_by_item(versions: tuple[Path, Path], yangguang: Run) -> None:
    code, out, err = yangguang("diff", str(versions[0]), str(versions[1]))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "变更公告 (change notice)"
    assert lines[1].startswith(f"旧版 (old): {versions[0]} — 齐齐哈尔市政务服务中心，目录版本 (version) ")
    at = lines.index("事项 QQ-TRANSPORT-XK-102 道路旅客运输经营许可（班线客运、包车客运）")
    assert lines[at + 1] == "  - 承诺时限 10→5 个工作日 (promised-limit)"
    heading = (
        "收费标准 realestate-registration 不动产登记费"
        "（适用事项：QQ-REALESTATE-DJ-101、QQ-REALESTATE-DJ-102、QQ-REALESTATE-DJ-103）"
    )
    assert heading in lines
    assert lines[-1] == (
        "共 15 项变更，涉及 6 个事项 (15 changes in 6 items: item-added 1, item-withdrawn 1, promised-limit 1, "
        "fee-free 1, material-added 1, material-removed 1, material-renamed 1, material-required 1, "
        "material-changed 1, fee-line 1, chain-promised 1, department-window 1, field-changed 3)"
    )


def test_json_notice(versions: tuple[Path, Path], yangguang: Run, changes: list[Change]) -> None:
    code, out, _ = yangguang("diff", str(versions[0]), str(versions[1]), "--format", "json", "--exit-code")
    assert code == 1  # --exit-code: there are changes
    doc = json.loads(out)
    assert doc["old"]["source"] == str(versions[0]) and len(doc["old"]["version"]) == 16
    assert doc["new"]["center"] == "齐齐哈尔市政务服务中心"
    assert [c["kind"] for c in doc["changes"]] == [c.kind for c in changes]
    assert doc["changes"][0] == {
        "kind": "item-withdrawn",
        "subject": "item",
        "code": "QQ-EDUCATION-XK-101",
        "field": None,
        "old": "教师资格认定（高级中学、中等职业学校）",
        "new": None,
        "text": "取消事项：教师资格认定（高级中学、中等职业学校）（QQ-EDUCATION-XK-101）",
        "items": [],
    }


def test_exit_code_is_0_without_changes(yangguang: Run) -> None:
    code, out, _ = yangguang("diff", str(SMALL), str(SMALL), "--exit-code")
    assert code == 0 and out.splitlines()[-1] == "两个版本之间没有变更 (no changes)"


needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.fixture
def git_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Git:
    # the developer's git config (signing, hooks, default branch) must not change the test
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "test@example.invalid")

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True, timeout=60)

    git("init", "-q")
    return git


@needs_git
def test_git_revisions_of_an_overlay_see_the_parent_at_that_revision(tmp_path: Path, git_repo: Git) -> None:
    city = copy_catalogue(SMALL, tmp_path / "city")
    town = tmp_path / "town"
    town.mkdir()
    (town / "center.yaml").write_text(
        'id: town\nname: 示例镇便民服务中心\nlevel: township\nregion: "230221"\nextends: ../city\n', encoding="utf-8"
    )
    git_repo("add", "-A")
    git_repo("commit", "-q", "-m", "first")
    # only the parent changes: a unit change, and an item that becomes immediate
    edit(
        city / "items" / "a.yaml", "promised: {value: 5, unit: working_day}", "promised: {value: 20, unit: natural_day}"
    )
    edit(
        city / "items" / "amr" / "food" / "b.yaml",
        "promised: {value: 5, unit: working_day}",
        "promised: {value: 0, unit: working_day}",
    )
    git_repo("commit", "-q", "-am", "second")
    before = set(Path(tempfile.gettempdir()).glob("yangguang-diff-*"))
    run = _runner()
    code, out, err = run("diff", "HEAD~1", "HEAD", "--catalog", str(town), "--format", "json")
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert doc["old"]["source"] == "HEAD~1" and len(doc["old"]["revision"]) == 40
    assert doc["new"]["center"] == "示例镇便民服务中心"
    assert [(c["code"], c["kind"], c["text"]) for c in doc["changes"]] == [
        ("QQ-A-001", "promised-limit", "承诺时限 5 个工作日→20 个自然日"),
        ("QQ-A-002", "immediate", "承诺时限 5 个工作日→即办（改为即办件）"),
    ]
    assert set(Path(tempfile.gettempdir()).glob("yangguang-diff-*")) == before  # temporary trees removed


def _runner() -> Run:
    """``cli_diff.cmd_diff`` through a parser built with ``add_parsers`` alone (no engine.cli.main wiring)."""
    import contextlib
    import io

    p = argparse.ArgumentParser(prog="yangguang")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--catalog", type=Path, default=REPO)
    cli_diff.add_parsers(p.add_subparsers(dest="command", required=True), common)

    def run(*argv: str) -> tuple[int, str, str]:
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                return cli_diff.cmd_diff(p.parse_args(argv)), out.getvalue(), ""
        except UserError as exc:
            return EXIT_USER, out.getvalue(), str(exc)

    return run


@needs_git
def test_unknown_revision_is_a_clean_error(tmp_path: Path, git_repo: Git, yangguang: Run) -> None:
    copy_catalogue(SMALL, tmp_path)
    git_repo("add", "-A")
    git_repo("commit", "-q", "-m", "first")
    code, out, err = yangguang("diff", "no-such-tag", "HEAD", "--catalog", str(tmp_path))
    assert code == 1 and out == ""
    assert "'no-such-tag' is neither a catalogue directory nor a revision git knows" in err
    assert "HEAD~1" in err and "Traceback" not in err


@needs_git
def test_a_revision_outside_git_is_a_clean_error(tmp_path: Path, yangguang: Run) -> None:
    inside = subprocess.run(["git", "-C", str(tmp_path), "rev-parse"], capture_output=True, timeout=60)
    if inside.returncode == 0:
        pytest.skip("the temporary directory is itself inside a git repository")
    copy_catalogue(SMALL, tmp_path / "cat")
    code, _, err = yangguang("diff", "HEAD~1", str(tmp_path / "cat"), "--catalog", str(tmp_path / "cat"))
    assert code == 1 and "is not inside a git repository" in err and "Traceback" not in err


def test_a_broken_side_is_refused_unless_allow_errors(tmp_path: Path, yangguang: Run) -> None:
    broken = copy_catalogue(SMALL, tmp_path / "broken")
    edit(broken / "items" / "a.yaml", "type: license", "type: licence")
    code, _, err = yangguang("diff", str(SMALL), str(broken))
    assert code == 1
    assert f"{broken} does not check clean: 1 problem(s) in 1 file(s)" in err
    assert "items/a.yaml:3:7: error[enum]" in err and "--allow-errors" in err and "yangguang check" in err
    code, out, _ = yangguang("diff", str(SMALL), str(broken), "--allow-errors")
    assert code == 0
    # the broken item dropped out of the new version: that is said, not announced as withdrawn
    assert "新版中事项文件 items/a.yaml 有检查错误，未能比较；修正后再发布变更公告 (item-unchecked)" in out
    assert "有 1 个检查问题，只比较了通过检查的文件 (--allow-errors)" in out


def clone(cat: Catalogue) -> Catalogue:
    """An independent copy of a loaded catalogue to edit in memory (no files, no check)."""

    def docs(table: dict[Any, Document]) -> dict[Any, Document]:
        return {k: Document(d.file, d.kind, copy.deepcopy(d.data), d.key) for k, d in table.items()}

    return Catalogue(
        Path("new"),
        "new",
        center=copy.deepcopy(cat.center),
        items=docs(cat.items),
        fees=docs(cat.fees),
        forms=docs(cat.forms),
        chains=docs(cat.chains),
        calendars=docs(cat.calendars),
    )


def entry(entries: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return next(e for e in entries if e["id"] == key)


def test_wording_of_every_other_kind(reference) -> None:  # type: ignore[no-untyped-def]
    old = reference.catalogue
    new = clone(old)
    venue = new.items["QQ-CULTURE-XK-101"].data
    entry(venue["steps"], "inspect")["limit"]["value"] = 3
    entry(venue["steps"], "accept")["role"] = "undertaker"
    venue["steps"].insert(
        1, {"id": "precheck", "name": "预审", "role": "undertaker", "limit": {"value": 1, "unit": "working_day"}}
    )
    venue["steps"] = [s for s in venue["steps"] if s["id"] != "complete"]
    venue["basis"].append({"law": "娱乐场所管理办法", "article": "第九条"})
    venue["conditions"].append("场所符合消防要求。")
    venue["type"], venue["visits"]["max"], venue["online"]["depth"] = "filing", 0, 4
    venue["time_limit"]["legal"] = {"value": 30, "unit": "natural_day"}
    seal = new.items["QQ-PSB-BA-001"].data
    seal["fee"] = {"schedule": "resident-id-card"}
    seal["time_limit"]["promised"] = {"value": 1, "unit": "working_day"}
    entry(seal["materials"], "agent_authorisation")["required"] = {"field": "applicant.by_agent", "eq": False}
    seal["steps"], seal["department"] = "standard", "amr"
    hukou = new.items.pop("QQ-PSB-QR-101")  # the same file under a new code: renumbered, not withdrawn
    hukou.data["code"] = "QQ-PSB-QR-109"
    new.items["QQ-PSB-QR-109"] = hukou
    stages = new.chains["economic"].data["stages"]
    entry(stages, "public-place")["items"].append("QQ-PSB-BA-001")
    entry(stages, "entertainment")["mode"] = "serial"
    entry(stages, "registration")["when"] = {"field": "enterprise.kind", "present": True}
    stages.remove(entry(stages, "tobacco"))
    center = new.center
    assert center is not None
    center["departments"] = [d for d in center["departments"] if d["id"] != "bank"]
    center["departments"].append({"id": "forestry", "name": "齐齐哈尔市林业和草原局", "window": "A18"})
    entry(center["departments"], "drc")["name"] = "齐齐哈尔市发展改革委"
    entry(center["departments"], "nr")["phone"] = "0452-1234567"
    center["phone"] = "12346"
    fee = new.fees["realestate-registration"].data
    entry(fee["lines"], "certificate").update(rate="12.5", free_units=2)
    entry(fee["lines"], "residential")["when"] = {"field": "realestate.use", "in": ["residential", "non_residential"]}
    fee["lines"].remove(entry(fee["lines"], "certificate_only"))
    fee["lines"].append({"id": "rush", "name": "加急费", "kind": "fixed", "amount": "30.05", "unit": "件"})
    fee["exemptions"].append(
        {"id": "veterans", "name": "退役军人免收", "when": {"field": "realestate.small_micro", "eq": True}, "basis": []}
    )
    assert [(c.code, c.kind, c.text) for c in compare(old, new)] == [
        ("QQ-CULTURE-XK-101", "type", "事项类型 行政许可→备案"),
        ("QQ-CULTURE-XK-101", "basis", "设定依据已修改：新增《娱乐场所管理办法》第九条"),
        ("QQ-CULTURE-XK-101", "conditions", "受理条件已修改：新增「场所符合消防要求。」"),
        ("QQ-CULTURE-XK-101", "legal-limit", "法定时限 20 个工作日→30 个自然日"),
        ("QQ-CULTURE-XK-101", "visits", "最多到现场次数 1→0（零跑动）"),
        ("QQ-CULTURE-XK-101", "online-depth", "网办深度 3（网上受理）→4（全程网办）"),
        ("QQ-CULTURE-XK-101", "step-added", "新增环节「预审」（承办人，时限 1 个工作日）"),
        ("QQ-CULTURE-XK-101", "step-removed", "删除环节「制发娱乐经营许可证」（complete）"),
        ("QQ-CULTURE-XK-101", "step-limit", "环节「实地检查」时限 4→3 个工作日"),
        ("QQ-CULTURE-XK-101", "step-changed", "环节「受理」办理角色 窗口受理人员→承办人"),
        ("QQ-CULTURE-XK-101", "field-changed", "字段 time_limit.legal.note（备注）已删除"),
        ("QQ-PSB-BA-001", "department", "实施部门 公安局→市场监管局"),
        ("QQ-PSB-BA-001", "immediate", "承诺时限 即办→1 个工作日（不再是即办件）"),
        ("QQ-PSB-BA-001", "fee-charged", "改为收费：按收费标准「居民身份证工本费」（resident-id-card）收取"),
        (
            "QQ-PSB-BA-001",
            "material-required",
            "材料「授权委托书及经办人身份证」满足条件时必需（是否委托代理人办理为是）→满足条件时必需（是否委托代理人办理为否）",
        ),
        ("QQ-PSB-BA-001", "steps", "办理环节 自定义环节（受理并备案、办结）→标准环节（受理、承办、审核、批准、办结）"),
        (
            "QQ-PSB-BA-001",
            "field-changed",
            "字段 fee.basis（不收费依据）已删除"
            "（原为 《公章刻制备案不收取行政事业性收费；印章制作费由刻制企业按市场价收取》全文）",
        ),
        (
            "QQ-PSB-BA-001",
            "field-changed",
            "字段 time_limit.promised.note（备注）已删除（原为 即办：资料齐全当场备案。）",
        ),
        ("QQ-PSB-QR-109", "item-recoded", "事项编码 QQ-PSB-QR-101→QQ-PSB-QR-109"),
        (
            "realestate-registration",
            "fee-line",
            "取消收费项目「不动产权属证书工本费（只收工本费情形）」（certificate_only）",
        ),
        ("realestate-registration", "fee-line", "新增收费项目「加急费」（rush）：每件 30.05 元"),
        (
            "realestate-registration",
            "fee-line",
            "收费项目「住宅类不动产登记费」适用条件：不动产类别（按规划用途）为住宅类→不动产类别（按规划用途）为住宅类、非住宅类之一",
        ),
        ("realestate-registration", "fee-line", "收费项目「不动产权属证书工本费（第二本起）」单价 10→12.50 元/本"),
        ("realestate-registration", "fee-line", "收费项目「不动产权属证书工本费（第二本起）」免收数量 1→2"),
        ("realestate-registration", "fee-relief", "新增免收情形「退役军人免收」（veterans）"),
        ("economic", "chain-stage-removed", "删除阶段「烟草专卖零售许可」（tobacco）"),
        ("economic", "chain-stage-changed", "阶段「企业设立登记（营业执照）」办理条件：必经→已填写企业类型"),
        ("economic", "chain-stage-changed", "阶段「娱乐场所经营许可及消防安全检查（并联）」办理方式 并联→串联"),
        ("economic", "chain-member-added", "阶段「公共场所卫生许可」新增成员事项 QQ-PSB-BA-001 公章刻制备案"),
        (None, "center-changed", "中心电话 12345→12346"),
        (None, "department-added", "新增进驻部门「齐齐哈尔市林业和草原局」（forestry），窗口 A18"),
        (None, "department-removed", "撤出部门「进驻中心的开户银行网点」（bank）"),
        (None, "department-renamed", "部门更名：「齐齐哈尔市发展和改革委员会」→「齐齐哈尔市发展改革委」（drc）"),
        (None, "department-phone", "部门「自然资源局」电话 （无）→0452-1234567"),
    ]


def test_a_county_override_of_form_sections_is_announced_section_by_section() -> None:
    """An applicant's form losing a section or a renamed section is news: worded, not `field-changed`."""
    overlays = REPO / "tests" / "fixtures" / "overlays"
    found = compare(loaded(overlays / "stack" / "city"), loaded(overlays / "cases" / "mixed-sections"))
    mine = [(c.kind, c.text) for c in found if c.code == "P-PSB-001"]
    assert mine == [
        ("form-section-removed", "取消表单分组「联系方式」（contact）"),
        ("form-section-changed", "表单分组更名：「印章信息」→「印章信息（县）」"),
    ]
