"""Generate a large, realistic catalogue for benchmarks: ``python bench/generate.py DEST [--items N]``.

The catalogue copies the repository's center.yaml, forms/, calendar/ and fees/, and
adds N items under items/<department>/. Every item is valid against
schema/item.schema.json and passes the cross-reference checks, so
``yangguang check DEST --no-cache`` reports ok. Output is deterministic for a seed.

YAML follows the project's strict policy: text that could read as a number, a
boolean or a date is double-quoted; only effective.from/until are plain dates.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
MODELINE = "# yaml-language-server: $schema=../../schema/item.schema.json\n"

# --- YAML output ------------------------------------------------------------------------------


class Flow(dict[str, Any]):
    """A mapping written on one line: ``{value: 5, unit: working_day}``."""


class FlowList(list[Any]):
    """A list written on one line: ``[pdf, jpg]``."""


_Base: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_Base):  # type: ignore[misc]
    pass


_RISKY = re.compile(r"[-+.0-9~]")  # text starting like a number, a date or null
_WORDS = frozenset({"yes", "no", "on", "off", "y", "n", "true", "false", "null"})


def _str(dumper: Any, value: str) -> Any:
    quote = bool(_RISKY.match(value)) or value.lower() in _WORDS
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"' if quote else None)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(Flow, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=True))
_Dumper.add_representer(FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))


def dump(data: dict[str, Any]) -> str:
    text: str = yaml.dump(
        data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, default_flow_style=False, width=4096
    )
    return text


# --- vocabulary -------------------------------------------------------------------------------

SUBJECTS = [
    "食品经营",
    "建设工程规划",
    "建筑工程施工",
    "排污",
    "人防工程",
    "消防设计",
    "公众聚集场所投入使用",
    "药品零售",
    "医疗机构执业",
    "道路运输经营",
    "出租汽车经营",
    "取水",
    "河道管理范围内建设项目",
    "民办学校办学",
    "养老机构",
    "社会团体",
    "民办非企业单位",
    "烟草专卖零售",
    "娱乐场所经营",
    "网吧经营",
    "旅行社业务经营",
    "广播电视节目制作经营",
    "特种设备使用",
    "户外广告设置",
    "城市道路占用",
    "临时占用林地",
    "建设用地规划",
    "不动产首次",
    "住房公积金提取",
    "就业困难人员认定",
    "最低生活保障",
    "残疾人两项补贴",
    "高龄津贴",
    "二手房交易",
    "房屋租赁",
    "危险化学品经营",
    "辐射安全",
    "职业介绍",
    "劳务派遣经营",
    "企业设立",
    "个体工商户",
    "公章刻制",
    "护照",
    "居住证",
]
ACTIONS = {
    "license": ["许可", "许可证核发", "审批", "许可证延续"],
    "confirmation": ["登记", "认定", "确认", "资格认定"],
    "payment": ["申领", "发放", "补贴申领"],
    "ruling": ["争议裁决", "权属争议裁决"],
    "reward": ["表彰奖励", "奖励"],
    "filing": ["备案", "变更备案", "信息备案"],
    "other_power": ["审核", "核准", "核查"],
    "public_service": ["咨询服务", "证明开具", "信息查询"],
}
TYPE_CODES = {
    "license": "XK",
    "confirmation": "QR",
    "payment": "JF",
    "ruling": "CJ",
    "reward": "JL",
    "filing": "BA",
    "other_power": "QT",
    "public_service": "GG",
}
RESULT_KINDS = {
    "license": "certificate",
    "confirmation": "record",
    "payment": "decision",
    "ruling": "decision",
    "reward": "decision",
    "filing": "filing_notice",
    "other_power": "approval_document",
    "public_service": "other",
}
LAWS = [
    "中华人民共和国行政许可法",
    "中华人民共和国食品安全法",
    "中华人民共和国城乡规划法",
    "中华人民共和国建筑法",
    "中华人民共和国环境保护法",
    "中华人民共和国消防法",
    "中华人民共和国人民防空法",
    "中华人民共和国水法",
    "中华人民共和国道路运输条例",
    "国务院对确需保留的行政审批项目设定行政许可的决定（国务院令第412号）",
    "黑龙江省优化营商环境条例",
    "社会团体登记管理条例（国务院令第250号）",
    "住房公积金管理条例（国务院令第262号）",
    "中华人民共和国烟草专卖法实施条例",
    "营业性演出管理条例",
    "娱乐场所管理条例（国务院令第458号）",
]
NUMERALS = "一二三四五六七八九十"
CONDITIONS = [
    "申请人具有完全民事行为能力，或为依法设立的法人及其他组织。",
    "具有与经营规模相适应的场所、设备和设施，并符合相关安全标准。",
    "有健全的管理制度和岗位责任制度，主要负责人经培训合格。",
    "项目选址符合国土空间规划和用途管制要求。",
    "申请材料齐全、符合法定形式，所填信息真实有效。",
    "近三年内无重大违法违规记录，未被列入严重失信主体名单。",
    "有与所从事业务相适应的专业技术人员，持有相应资格证书。",
    "已取得依法应当先行办理的相关许可或者备案手续。",
    "符合本市产业政策和行业发展规划，不属于限制或者淘汰类项目。",
]
MATERIALS = [
    ("application_form", "申请表", "form"),
    ("id_card", "申请人身份证明", "identity"),
    ("licence", "营业执照或法人登记证书", "certificate"),
    ("rep_id", "法定代表人身份证明", "identity"),
    ("agent_authorisation", "授权委托书及经办人身份证", "document"),
    ("premises_proof", "经营场所使用证明", "document"),
    ("site_plan", "总平面布置图", "drawing"),
    ("floor_plan", "建筑平面图", "drawing"),
    ("safety_rules", "安全管理制度文本", "document"),
    ("staff_list", "从业人员名单及资格证明", "document"),
    ("equipment_list", "主要设备设施清单", "document"),
    ("env_report", "环境影响评价文件", "report"),
    ("fire_report", "消防安全评估报告", "report"),
    ("land_proof", "土地使用权证明文件", "certificate"),
    ("project_approval", "项目核准或备案文件", "certificate"),
    ("design_drawings", "施工图设计文件", "drawing"),
    ("bank_statement", "资金证明", "document"),
    ("commitment", "告知承诺书", "document"),
    ("lease_contract", "房屋租赁合同", "document"),
    ("health_cert", "从业人员健康证明", "certificate"),
    ("test_report", "检验检测报告", "report"),
    ("articles", "章程", "document"),
    ("meeting_minutes", "股东会或董事会决议", "document"),
    ("old_licence", "原许可证正副本", "certificate"),
    ("change_proof", "变更事项证明材料", "document"),
    ("photos", "场所现场照片", "other"),
    ("hukou", "户口簿", "identity"),
    ("income_proof", "家庭收入情况说明", "document"),
    ("contract", "劳动合同", "document"),
    ("survey_report", "勘测定界报告", "report"),
]
SECTION_IDS = [
    "matter",
    "site",
    "business",
    "licence_info",
    "project_info",
    "change_info",
    "staffing",
    "facility",
]
SECTION_TITLES = [
    "事项信息",
    "场所信息",
    "经营信息",
    "许可信息",
    "项目信息",
    "变更信息",
    "人员信息",
    "设施信息",
]
FIELDS = [
    ("经营类别", "select"),
    ("场所性质", "radio"),
    ("申请类型", "radio"),
    ("经营项目", "checkbox"),
    ("所属区县", "area"),
    ("建筑面积", "number"),
    ("从业人数", "integer"),
    ("注册资本", "money"),
    ("是否新建", "boolean"),
    ("是否涉及外资", "boolean"),
    ("开始日期", "date"),
    ("经营范围", "textarea"),
    ("项目名称", "text"),
    ("投资金额", "money"),
    ("场所地址", "address"),
    ("设备数量", "integer"),
    ("危险等级", "select"),
    ("备注说明", "textarea"),
]
UNITS = {"number": "平方米", "integer": "人", "money": "万元"}
OPTION_LABELS = [
    "新办",
    "变更",
    "延续",
    "注销",
    "补办",
    "自有",
    "租赁",
    "无偿使用",
    "市区",
    "县（市）",
    "一类",
    "二类",
    "三类",
    "其他",
]
ANSWERS = [
    "可以。申请人可通过黑龙江政务服务网在线提交材料，审核通过后选择邮寄领取结果。",
    "材料不齐全的，窗口一次性告知需要补正的全部内容，补正后重新计算办理时限。",
    "委托他人办理的，须提交授权委托书和受托人身份证原件。",
    "办理结果可在政务服务网“办件查询”中按受理编号查询。",
]
QUESTIONS = ["可以网上办理吗？", "材料不全怎么办？", "可以委托他人办理吗？", "怎样查询办理进度？"]


def _pick(rng: random.Random, seq: Sequence[Any]) -> Any:
    return seq[rng.randrange(len(seq))]


def _sentence(rng: random.Random, n: int = 2) -> str:
    return "".join(_pick(rng, CONDITIONS) for _ in range(n))


def _law_ref(rng: random.Random) -> dict[str, Any]:
    ref: dict[str, Any] = {
        "law": _pick(rng, LAWS),
        "article": f"第{_pick(rng, NUMERALS)}十{_pick(rng, NUMERALS)}条",
    }
    if rng.random() < 0.25:
        ref["text"] = _sentence(rng)
    if rng.random() < 0.3:
        ref["note"] = "条款对应关系未逐条核实，上线前与原文核对。"
    return ref


def _other_law(basis: list[dict[str, Any]]) -> bool:
    return any(ref["law"] != LAWS[0] for ref in basis)


def _basis(rng: random.Random, most: int = 2) -> list[dict[str, Any]]:
    return [_law_ref(rng) for _ in range(rng.randint(1, most))]


def _duration(value: int, unit: str = "working_day") -> Flow:
    return Flow(value=value, unit=unit)


# --- one item ---------------------------------------------------------------------------------


def _section(rng: random.Random, sid: str, title: str) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """An inline form section and the (field name, spec) pairs materials may refer to."""
    fields: list[dict[str, Any]] = []
    choices: list[tuple[str, dict[str, Any]]] = []
    flag: str | None = None
    for j, (label, kind) in enumerate(rng.sample(FIELDS, rng.randint(5, 10))):
        fid = f"f{j + 1:02d}"
        spec: dict[str, Any] = {"id": fid, "label": label, "type": kind}
        if kind in ("select", "radio", "checkbox"):
            words = rng.sample(OPTION_LABELS, rng.randint(3, 6))
            spec["options"] = [Flow(value=f"v{k + 1}", label=w) for k, w in enumerate(words)]
        elif kind in ("number", "integer", "money"):
            spec["unit"] = UNITS[kind]
            if kind != "money":
                spec["min"], spec["max"] = 0, rng.choice([100, 10000, 1000000])
        elif kind in ("text", "textarea"):
            spec["max_length"] = rng.choice([50, 200, 500])
        if kind == "boolean":
            spec["default"] = False
            flag = flag or f"{sid}.{fid}"
        elif flag is not None and rng.random() < 0.3:
            spec["when"] = Flow(field=flag, eq=True)
        spec["required"] = Flow(field=flag, eq=True) if "when" in spec else rng.random() < 0.8
        if rng.random() < 0.3:
            spec["hint"] = "请按证照或合同上的内容如实填写，与申请材料保持一致。"
        fields.append(spec)
        choices.append((f"{sid}.{fid}", spec))
    return {"id": sid, "title": title, "fields": fields}, choices


def _condition(rng: random.Random, choices: list[tuple[str, dict[str, Any]]]) -> Any:
    name, spec = _pick(rng, choices)
    if spec["type"] == "boolean":
        return Flow(field=name, eq=True)
    if "options" in spec:
        values = [o["value"] for o in spec["options"]]
        if rng.random() < 0.5:
            return Flow(field=name, eq=_pick(rng, values))
        return Flow(field=name, **{"in": FlowList(rng.sample(values, 2))})
    if spec["type"] in ("number", "integer", "money"):
        return Flow(field=name, gt=50)
    return Flow(field=name, present=True)


def _material(
    rng: random.Random, mid: str, name: str, kind: str, required: Any, other_codes: list[str]
) -> dict[str, Any]:
    mat: dict[str, Any] = {
        "id": mid,
        "name": name,
        "kind": kind,
        "required": required,
        "originals": rng.choice([0, 1, 1]),
        "copies": rng.choice([0, 1, 2]),
        "formats": FlowList(rng.sample(["pdf", "ofd", "jpg", "png", "docx"], rng.randint(1, 3))),
        "max_size_mb": rng.choice([5, 10, 20]),
    }
    source = "government" if kind == "certificate" else rng.choice(["applicant", "applicant", "intermediary"])
    mat["source"] = source
    if source == "government" and other_codes and rng.random() < 0.5:
        mat["shared"] = True
        mat["produced_by"] = _pick(rng, other_codes)
    if rng.random() < 0.15:
        mat["paper"], mat["paper_size"] = True, "A4"
    if kind == "form" or rng.random() < 0.1:
        mat["fill_notes"] = "用黑色签字笔或钢笔填写，字迹清楚，不得涂改；须加盖申请单位公章。"
    if rng.random() < 0.15:
        mat["acceptance_standard"] = "内容完整、真实有效，复印件与原件一致并注明“与原件一致”。"
    if rng.random() < 0.05:
        mat["basis"] = _basis(rng, 1)
    return mat


def _steps(rng: random.Random, promised: int) -> list[Flow]:
    minute = "minute"
    if promised <= 2:  # immediate or short items: every step in minutes, at most one working day in all
        return [
            Flow(id="accept", name="受理", role="window", limit=_duration(30, minute)),
            Flow(id="review", name="审核", role="reviewer", limit=_duration(rng.choice([30, 60, 120]), minute)),
            # a deciding step, as a licence needs one (warning licence-decider, engine/check/quality.py)
            Flow(id="decide", name="批准", role="decider", limit=_duration(30, minute)),
            Flow(id="complete", name="办结", role="window", limit=_duration(10, minute)),
        ]
    a = rng.randint(0, promised - 1)
    b = rng.randint(0, promised - 1 - a)
    c = promised - 1 - a - b
    steps = [
        Flow(id="accept", name="受理", role="window", limit=_duration(60, minute)),
        Flow(id="undertake", name="承办", role="undertaker", limit=_duration(a)),
        Flow(id="review", name="审核", role="reviewer", limit=_duration(b)),
    ]
    if rng.random() < 0.4:
        steps.append(Flow(id="inspect", name="现场核查", role="inspector", limit=_duration(b), parallel_with="review"))
    steps += [
        Flow(id="decide", name="审批决定", role="decider", limit=_duration(c)),
        Flow(id="complete", name="办结送达", role="issuer", limit=_duration(30, minute)),
    ]
    return steps


def make_item(rng: random.Random, code: str, dept: dict[str, Any], other_codes: list[str]) -> dict[str, Any]:
    kind = _pick(rng, list(TYPE_CODES))
    subject = _pick(rng, SUBJECTS)
    name = subject + _pick(rng, ACTIONS[kind])
    legal_unit = "natural_day" if rng.random() < 0.15 else "working_day"
    legal = rng.choice([5, 10, 15, 20, 30, 60])
    ceiling = legal * 5 // 7 if legal_unit == "natural_day" else legal
    promised = 0 if rng.random() < 0.15 else rng.randint(1, ceiling)
    item: dict[str, Any] = {
        "code": code,
        "basic_code": f"{rng.randrange(10**12):012d}",
        "name": name,
        "type": kind,
        "handling": rng.choice(["new", "change", "renewal", "cancellation"]),
        "department": dept["id"],
        "level": rng.choice(["city", "city", "county"]),
        "source_of_power": rng.choice(["statutory", "delegated", "entrusted"]),
        "basis": _basis(rng),
        "conditions": [_pick(rng, CONDITIONS) for _ in range(rng.randint(2, 4))],
        "applicants": FlowList(rng.choice([["legal_person"], ["natural_person"], ["natural_person", "legal_person"]])),
    }
    time_limit: dict[str, Any] = {"legal": _duration(legal, legal_unit), "promised": _duration(promised)}
    if kind == "license" and rng.random() < 0.5:
        # an extension written out (the law's own needs no key) always names its basis
        time_limit["extension"] = {
            "limit": _duration(10),
            "approver_role": "decider",
            "basis": [{"law": "中华人民共和国行政许可法", "article": "第四十二条"}],
        }
    if rng.random() < 0.3:
        time_limit["legal_basis"] = _basis(rng, 1)
    if kind == "license" and legal_unit == "natural_day" and not _other_law(time_limit.get("legal_basis", [])):
        # a licence limit in natural days comes from a law other than the Licensing Law (warning natural-days)
        time_limit["legal_basis"] = [{"law": LAWS[1], "article": "第三十五条"}]
    item["time_limit"] = time_limit
    visits = rng.choice([0, 0, 1, 2])
    item["visits"] = Flow(max=visits, reason="核验原件并领取证照") if visits else Flow(max=0)
    item["online"] = Flow(
        depth=rng.randint(1, 4), booking=rng.random() < 0.5, courier=rng.random() < 0.5, payment=False
    )
    item["fee"] = "free" if rng.random() < 0.85 else {"free": True, "basis": _basis(rng, 1)}

    sid = rng.randrange(len(SECTION_IDS))
    section, choices = _section(rng, SECTION_IDS[sid], SECTION_TITLES[sid])
    item["form"] = {"sections": ["applicant", "contact", section] if rng.random() < 0.8 else ["applicant", section]}
    picked = rng.sample(MATERIALS, rng.randint(10, 20))
    materials = []
    for mid, mname, mkind in picked:
        if mid == "agent_authorisation":
            required: Any = Flow(field="applicant.by_agent", eq=True)
        elif rng.random() < 0.2:
            required = _condition(rng, choices)
        elif rng.random() < 0.03:
            required = Flow(any=FlowList([_condition(rng, choices), Flow(field="applicant.by_agent", eq=True)]))
        else:
            required = rng.random() < 0.9
        materials.append(_material(rng, mid, mname, mkind, required, other_codes))
    item["materials"] = materials
    if promised > 0 and rng.random() < 0.7:
        item["steps"] = "standard"
    elif promised == 0 or rng.random() < 0.5:
        item["steps"] = _steps(rng, promised)
    if rng.random() < 0.25:
        item["special_procedures"] = [
            {
                "kind": "inspection",
                "name": "现场勘查",
                "max": _duration(rng.randint(1, 10)),
                "counts_toward_limit": False,
                "charged": False,
            }
        ]
    result: dict[str, Any] = {
        "kind": RESULT_KINDS[kind],
        "name": subject + _pick(rng, ["许可证", "决定书", "备案回执", "登记证明"]),
        "delivery": FlowList(rng.sample(["window", "courier", "online"], rng.randint(1, 2))),
    }
    if kind == "license":
        result["validity"] = f"{rng.choice([3, 5])} 年"
    item["result"] = result
    window = dept["window"] if rng.random() < 0.8 else f"{rng.randint(1, 30):02d}"  # "07" must be quoted
    item["location"] = Flow(address=f"齐齐哈尔市政务服务中心{window}窗口", window=window)
    item["contact"] = Flow(phone=f"0452-{2_000_000 + rng.randrange(8 * 10**6)}")  # a local number never starts 0
    item["complaint"] = Flow(phone="12345")
    item["remedy"] = {
        "reconsideration": "对决定不服的，可自知道之日起六十日内向齐齐哈尔市人民政府申请行政复议。",
        "litigation": "可自知道或者应当知道之日起六个月内向有管辖权的人民法院提起行政诉讼。",
    }
    start = date(rng.randint(2004, 2024), rng.randint(1, 12), rng.randint(1, 28))
    item["effective"] = Flow(**{"from": start})  # dates stay plain here: the schema expects a date
    if rng.random() < 0.1:
        item["effective"]["until"] = date(2030, 12, 31)
    item["keywords"] = FlowList([subject, name[-2:]])
    item["themes"] = FlowList([rng.choice(["企业开办", "工程建设", "社会保障", "民生服务"])])
    faq = rng.sample(list(zip(QUESTIONS, ANSWERS, strict=True)), rng.randint(1, 2))
    item["faq"] = [{"q": q, "a": a} for q, a in faq]
    if rng.random() < 0.3:
        item["note"] = "本事项办事指南为示意数据，由基准测试生成，未经核实。"
    return item


# --- the catalogue ----------------------------------------------------------------------------


def generate(dest: Path, n_items: int = 5000, seed: int = 1) -> None:
    """Write a checked-clean catalogue of ``n_items`` items into ``dest`` (which must be absent or empty)."""
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty; pass a new directory")
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "center.yaml", dest / "center.yaml")
    for folder in ("forms", "calendar", "fees"):
        (dest / folder).mkdir()
        for path in sorted((REPO / folder).glob("*.yaml")):
            shutil.copy2(path, dest / folder / path.name)
    with open(REPO / "center.yaml", encoding="utf-8") as fh:
        departments: list[dict[str, Any]] = yaml.safe_load(fh)["departments"]
    rng = random.Random(seed)
    depts = [_pick(rng, departments) for _ in range(n_items)]
    codes = [f"QQ-{d['id'].upper()}-{i + 1:05d}" for i, d in enumerate(depts)]
    for dept, code in zip(depts, codes, strict=True):
        others = [codes[rng.randrange(n_items)] for _ in range(3)]
        item = make_item(rng, code, dept, [c for c in others if c != code])
        folder = dest / "items" / dept["id"]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{code.lower()}.yaml").write_text(MODELINE + dump(item), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Generate a large catalogue for benchmarks.")
    p.add_argument("dest", type=Path, help="new (or empty) directory to write the catalogue into")
    p.add_argument("--items", type=int, default=5000, help="number of items (default 5000)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    args = p.parse_args(argv)
    try:
        generate(args.dest, args.items, args.seed)
    except FileExistsError as exc:
        sys.stderr.write(f"generate: {exc}\n")
        return 1
    print(f"wrote {args.items} items to {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
