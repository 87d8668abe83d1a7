"""Fee schedules: exact assessments of the real schedules in fees/, computed by hand in the comments."""

from __future__ import annotations

import json
import os
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from engine.catalogue.yaml_policy import parse
from engine.check.fee_check import check_fee_schedule
from engine.rules.fees.assessment import assess
from engine.rules.fees.results import Assessment
from engine.rules.fees.schedule import FeeDataError, FeeNotInForce, format_fen, referenced_fields, to_fen
from engine.rules.fees.text import describe_schedule, render_assessment

ROOT = Path(__file__).resolve().parents[3]
FEES = ROOT / "fees"
SCHEMAS = ROOT / "schema"
ON = date(2024, 5, 1)


# Real schedules that exercise the engine but are not charged at a government service center
# (court fees, patent annual fees) live with the tests rather than in the reference catalogue.
EXTRA = ROOT / "tests" / "fixtures" / "fees"


def load(name: str) -> dict[str, Any]:
    path = FEES / f"{name}.yaml"
    parsed = parse((path if path.exists() else EXTRA / f"{name}.yaml").read_bytes())
    assert parsed.ok, parsed.errors
    data: dict[str, Any] = parsed.data
    return data


def validator() -> Draft7Validator:
    resources = []
    for name in ("common.schema.json", "fee.schema.json"):
        contents = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
        resources.append((name, Resource.from_contents(contents, default_specification=DRAFT7)))
    registry: Registry[Any] = Registry().with_resources(resources)
    schema = json.loads((SCHEMAS / "fee.schema.json").read_text(encoding="utf-8"))
    return Draft7Validator(schema, registry=registry)


def schema_errors(doc: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator().iter_errors(doc)]


def total(name: str, data: dict[str, Any], on: date = ON) -> int:
    return assess(load(name), data, on).total_fen


FEE_FILES = sorted(p.stem for p in FEES.glob("*.yaml"))
ALL_FEE_PATHS = sorted([*FEES.glob("*.yaml"), *EXTRA.glob("*.yaml")])


# --- the schema and the files ----------------------------------------------------------


def test_at_least_three_real_schedules() -> None:
    assert len(FEE_FILES) >= 3
    assert "realestate-registration" in FEE_FILES


def test_fee_schema_is_a_valid_draft7_schema() -> None:
    Draft7Validator.check_schema(json.loads((SCHEMAS / "fee.schema.json").read_text(encoding="utf-8")))


def test_every_property_is_described_and_every_object_closed() -> None:
    schema = json.loads((SCHEMAS / "fee.schema.json").read_text(encoding="utf-8"))
    problems: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if "properties" in node or node.get("type") == "object":
                closed_map = "propertyNames" in node and isinstance(node.get("additionalProperties"), dict)
                if node.get("additionalProperties") is not False and not closed_map:
                    problems.append(f"{where}: additionalProperties is not false")
            for key, sub in node.get("properties", {}).items():
                desc = sub.get("description", "")
                if " / " not in desc:
                    problems.append(f"{where}.{key}: description must be Chinese / English")
            for key, sub in node.items():
                if key != "if":  # an if-clause only tests a value; it defines no object
                    walk(sub, f"{where}.{key}")
        elif isinstance(node, list):
            for i, sub in enumerate(node):
                walk(sub, f"{where}[{i}]")

    walk(schema, "$")
    assert problems == []


@pytest.mark.parametrize("path", ALL_FEE_PATHS, ids=[p.stem for p in ALL_FEE_PATHS])
def test_fee_file_is_schema_valid_and_clean(path: Path) -> None:
    first_line = path.read_text(encoding="utf-8").split("\n", 1)[0]
    assert first_line.startswith("# yaml-language-server: $schema=")
    # lexically, as an editor follows it: schema/ is a link to the package's copy (engine/catalogue/schema)
    assert Path(os.path.normpath(path.parent / first_line.split("=", 1)[1])) == SCHEMAS / "fee.schema.json"
    doc = load(path.stem)
    assert schema_errors(doc) == []
    assert check_fee_schedule(f"fees/{path.name}", doc) == []


@pytest.mark.parametrize("name", FEE_FILES)
def test_fee_file_declares_every_field_it_reads(name: str) -> None:
    doc = load(name)
    for path, field in referenced_fields(doc):
        node: Any = doc
        for part in path:
            node = node[part]
        assert node == field  # the path points at the field name inside the document
        assert field in doc["fields"]


# --- 不动产登记费 -------------------------------------------------------------------------


def estate(**fields: Any) -> dict[str, Any]:
    return {"realestate": fields}


def test_residential_with_three_certificates() -> None:
    # 80 (residential case) + (3 − 1 free) × 10 = 100.00 yuan
    a = assess(load("realestate-registration"), estate(use="residential", certificate_copies=3), ON)
    assert [(line.id, line.amount_fen) for line in a.lines] == [("residential", 8000), ("certificate", 2000)]
    assert a.reliefs == ()
    assert a.total_fen == 10000


def test_residential_single_certificate_is_just_the_registration_fee() -> None:
    assert total("realestate-registration", estate(use="residential", certificate_copies=1)) == 8000


def test_non_residential() -> None:
    # 550 + (2 − 1) × 10 = 560.00
    assert total("realestate-registration", estate(use="non_residential", certificate_copies=2)) == 56000


def test_small_micro_enterprise_is_exempt() -> None:
    # 550 exempted, one certificate is free: 0
    a = assess(
        load("realestate-registration"),
        estate(use="non_residential", certificate_copies=1, small_micro=True),
        ON,
    )
    assert a.total_fen == 0
    assert [(r.id, r.kind, r.amount_fen, r.lines) for r in a.reliefs] == [
        ("small_micro", "exemption", -55000, ("non_residential",))
    ]
    assert "财税〔2016〕79号" in a.reliefs[0].basis[0]["law"]


def test_small_micro_still_pays_extra_certificates() -> None:
    # 80 exempted; copies 2 and 3 are 10 each: 20.00
    assert total("realestate-registration", estate(use="residential", certificate_copies=3, small_micro=True)) == 2000


def test_homestead_pays_only_certificates() -> None:
    # registration exempted; 2 certificates × 10 (no free copy in this case) = 20.00
    a = assess(
        load("realestate-registration"),
        estate(use="residential", certificate_copies=2, relief_case="homestead"),
        ON,
    )
    assert [line.id for line in a.lines] == ["residential", "certificate_only"]
    assert a.total_fen == 2000


def test_garage_with_own_certificate_is_charged_as_residential() -> None:
    # 550 reduced to 80: relief −470.00
    a = assess(
        load("realestate-registration"),
        estate(use="non_residential", certificate_copies=1, relief_case="ancillary_separate"),
        ON,
    )
    assert [(r.id, r.kind, r.amount_fen) for r in a.reliefs] == [("ancillary_separate", "reduction", -47000)]
    assert a.total_fen == 8000


def test_time_limited_exemption_follows_the_assessment_date() -> None:
    data = estate(use="non_residential", certificate_copies=1, relief_case="community_service")
    assert total("realestate-registration", data, date(2024, 1, 1)) == 0
    assert total("realestate-registration", data, date(2025, 12, 31)) == 0
    assert total("realestate-registration", data, date(2026, 1, 1)) == 55000  # policy period over


def test_schedule_not_in_force() -> None:
    with pytest.raises(FeeNotInForce, match="2016-06-01 is outside"):
        assess(load("realestate-registration"), estate(use="residential", certificate_copies=1), date(2016, 6, 1))
    assert issubclass(FeeNotInForce, FeeDataError)


def test_missing_quantity_names_the_field() -> None:
    with pytest.raises(FeeDataError, match=r"realestate\.certificate_copies \(核发不动产权属证书本数\) is missing"):
        assess(load("realestate-registration"), estate(use="residential"), ON)


def test_missing_required_select_names_the_field() -> None:
    with pytest.raises(FeeDataError, match=r"realestate\.use \(不动产类别（按规划用途）\) is missing"):
        assess(load("realestate-registration"), estate(certificate_copies=1), ON)


def test_unknown_option_value() -> None:
    with pytest.raises(FeeDataError, match="'house', which is not one of its options: residential, non_residential"):
        assess(load("realestate-registration"), estate(use="house", certificate_copies=1), ON)


@pytest.mark.parametrize(
    ("copies", "message"),
    [
        ("abc", "must be a number, not 'abc'"),
        (True, "must be a number, not True"),
        (-1, "must not be negative"),
        ("2.5", "must be a whole number, not 2.5"),
        ([], "must be a number"),
    ],
)
def test_bad_quantity(copies: Any, message: str) -> None:
    with pytest.raises(FeeDataError, match=message) as info:
        assess(load("realestate-registration"), estate(use="residential", certificate_copies=copies), ON)
    assert "realestate.certificate_copies" in str(info.value)


def test_quantity_from_a_web_form_string_and_flat_data() -> None:
    flat = {"realestate.use": "residential", "realestate.certificate_copies": " 4 "}
    assert total("realestate-registration", flat) == 8000 + 3 * 1000


# --- 居民身份证工本费 ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "hardship", "fen"),
    [
        ("first", "none", 2000),
        ("renewal", "none", 2000),
        ("lost", "none", 4000),
        ("damaged", "none", 4000),
        ("temporary", "none", 1000),
        ("first", "urban_subsistence", 0),
        ("renewal", "rural_hardship", 0),
        ("lost", "urban_subsistence", 4000),  # the exemption covers first application and renewal only
    ],
)
def test_id_card(kind: str, hardship: str, fen: int) -> None:
    assert total("resident-id-card", {"idcard": {"application_type": kind, "hardship": hardship}}) == fen


# --- 案件受理费 (progressive tiers) -------------------------------------------------------


def lawsuit(amount: Any, **more: Any) -> dict[str, Any]:
    return {"lawsuit": {"case_kind": "property", "claim_amount": amount, **more}}


@pytest.mark.parametrize(
    ("claim", "fen"),
    [
        (0, 5000),  # the first band is a flat 50 per case
        (10000, 5000),  # 50
        ("10001", 5003),  # 50 + 1 × 2.5% = 50.025 → 50.03 (half up; one fen matters)
        ("10000.20", 5001),  # 50 + 0.20 × 2.5% = 50.005 → 50.01
        ("10000.19", 5000),  # 50 + 0.19 × 2.5% = 50.00475 → 50.00
        (100000, 230000),  # 50 + 90000 × 2.5% = 2300
        (150000, 330000),  # 2300 + 50000 × 2% = 3300
        (1000000, 1380000),  # 3300 + 50000×2% + 300000×1.5% + 500000×1% = 13800
        (30000000, 19180000),  # 141800 at 20,000,000 + 10,000,000 × 0.5% = 191800
    ],
)
def test_property_case_fee(claim: Any, fen: int) -> None:
    assert total("court-case-acceptance", lawsuit(claim)) == fen


def test_simple_procedure_halves_and_rounds_half_up() -> None:
    # 50.03 / 2 = 25.015 → 25.02 still payable; relief −25.01
    a = assess(load("court-case-acceptance"), lawsuit("10001", procedure="simple"), ON)
    assert a.lines[0].amount_fen == 5003
    assert [(r.id, r.amount_fen) for r in a.reliefs] == [("simple_procedure", -2501)]
    assert a.total_fen == 2502


def test_reductions_do_not_stack() -> None:
    # simple procedure and mediation both halve; only one applies: 13800 / 2 = 6900
    a = assess(load("court-case-acceptance"), lawsuit(1000000, procedure="simple", closure="mediation"), ON)
    assert [r.id for r in a.reliefs] == ["simple_procedure"]
    assert a.total_fen == 690000


@pytest.mark.parametrize(("kind", "fen"), [("labour", 1000), ("admin_ip_maritime", 10000), ("admin_other", 5000)])
def test_fixed_case_fees(kind: str, fen: int) -> None:
    assert total("court-case-acceptance", {"lawsuit": {"case_kind": kind}}) == fen


def test_claim_amount_with_three_decimals_is_refused() -> None:
    with pytest.raises(FeeDataError, match=r"lawsuit\.claim_amount .* at most two decimals"):
        assess(load("court-case-acceptance"), lawsuit("100.005"), ON)


@given(st.integers(min_value=0, max_value=5 * 10**10), st.integers(min_value=0, max_value=10**9))
def test_property_case_fee_never_decreases(claim_fen: int, step_fen: int) -> None:
    schedule = load("court-case-acceptance")
    low = assess(schedule, lawsuit(format_fen(claim_fen).removesuffix(" 元")), ON).total_fen
    high = assess(schedule, lawsuit(format_fen(claim_fen + step_fen).removesuffix(" 元")), ON).total_fen
    assert isinstance(low, int)
    assert 5000 <= low <= high


# --- 申请保全措施费 (progressive tiers with a maximum) ------------------------------------


@pytest.mark.parametrize(
    ("amount", "fen"),
    [
        (0, 3000),  # no property amount: 30 per case
        (1000, 3000),  # 30
        (1500, 3500),  # 30 + 500 × 1% = 35
        (100000, 102000),  # 30 + 99000 × 1% = 1020
        (896000, 500000),  # 1020 + 796000 × 0.5% = 5000, exactly the maximum
        (1000000, 500000),  # 1020 + 900000 × 0.5% = 5520 → capped at 5000
    ],
)
def test_preservation_fee(amount: int, fen: int) -> None:
    assert total("court-preservation", {"preservation": {"amount": amount}}) == fen


# --- 专利年费 (whole-amount tiers) --------------------------------------------------------


def patent(kind: str, year: int, reduction: str = "none", since_grant: int = 1) -> dict[str, Any]:
    return {"patent": {"type": kind, "year": year, "fee_reduction": reduction, "years_since_grant": since_grant}}


@pytest.mark.parametrize(
    ("kind", "year", "fen"),
    [
        ("invention", 1, 90000),
        ("invention", 3, 90000),  # up_to is inclusive
        ("invention", 4, 120000),
        ("invention", 20, 800000),
        ("utility_model", 10, 200000),
        ("design", 12, 300000),
    ],
)
def test_patent_annual_fee(kind: str, year: int, fen: int) -> None:
    assert total("patent-annual-fee", patent(kind, year)) == fen


def test_patent_fee_reductions() -> None:
    # 2000 × (100 − 85)% = 300.00; 1200 × (100 − 70)% = 360.00; year 11 after grant: no reduction
    assert total("patent-annual-fee", patent("invention", 7, "single", 4)) == 30000
    assert total("patent-annual-fee", patent("invention", 5, "joint", 2)) == 36000
    assert total("patent-annual-fee", patent("invention", 14, "single", 11)) == 600000


def test_patent_year_above_the_last_band() -> None:
    with pytest.raises(FeeDataError, match=r"patent\.year .* is 11 年, above the highest band"):
        assess(load("patent-annual-fee"), patent("utility_model", 11), ON)


# --- 土地闲置费 (percentage) --------------------------------------------------------------


def test_idle_land_fee_is_twenty_percent_rounded_half_up() -> None:
    # 1,234,567.89 × 20% = 246,913.578 → 246,913.58
    assert total("idle-land-fee", {"land": {"price": "1234567.89"}}) == 24691358
    # 0.03 × 20% = 0.006 → 0.01
    assert total("idle-land-fee", {"land": {"price": "0.03"}}) == 1


def test_idle_land_exemption() -> None:
    data = {"land": {"price": 1000000, "community_service": True}}
    assert total("idle-land-fee", data, date(2020, 1, 1)) == 0
    assert total("idle-land-fee", data, date(2026, 3, 1)) == 20000000


# --- the engine on small in-memory schedules ---------------------------------------------


def schedule(*lines: dict[str, Any], **more: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": "test",
        "name": "测试收费",
        "basis": [{"law": "测试依据", "article": "第一条"}],
        "effective": {"from": "2020-01-01"},
        "fields": {
            "x.n": {"label": "数量", "type": "number"},
            "x.money": {"label": "金额", "type": "money"},
            "x.kind": {
                "label": "类型",
                "type": "select",
                "options": [{"value": "a", "label": "甲"}, {"value": "b", "label": "乙"}],
            },
        },
        "lines": list(lines),
    }
    doc.update(more)
    return doc


BANDS = [{"up_to": 100, "rate": 10}, {"up_to": 200, "rate": 8}, {"rate": 5}]


@pytest.mark.parametrize(
    ("value", "progressive", "whole"),
    [
        (50, 500_00, 500_00),  # 50 × 10 both ways
        (100, 1000_00, 1000_00),  # the boundary belongs to the lower band
        (150, 1400_00, 1200_00),  # 100 × 10 + 50 × 8 = 1400 | 150 × 8 = 1200
        (250, 2050_00, 1250_00),  # 1000 + 800 + 50 × 5 = 2050 | 250 × 5 = 1250
        ("100.5", 1004_00, 804_00),  # 1000 + 0.5 × 8 = 1004 | 100.5 × 8 = 804
    ],
)
def test_progressive_versus_whole(value: Any, progressive: int, whole: int) -> None:
    for mode, expected in (("progressive", progressive), ("whole", whole)):
        line = {
            "id": "t",
            "name": "分档",
            "kind": "tiered",
            "base": "x.n",
            "unit": "平方米",
            "mode": mode,
            "bands": BANDS,
        }
        doc = schedule(line)
        assert schema_errors(doc) == []
        assert assess(doc, {"x": {"n": value}}, ON).total_fen == expected, mode


def percentage_line(**more: Any) -> dict[str, Any]:
    return {"id": "p", "name": "按比例", "kind": "percentage", "base": "x.money", "percent": "0.3", **more}


@pytest.mark.parametrize(
    ("base", "fen"),
    [
        (1000, 500),  # 3.00 is below the minimum 5.00
        (2000, 600),  # 6.00 within range
        (1000000, 200000),  # 3000.00 capped at 2000.00
    ],
)
def test_percentage_minimum_and_maximum(base: int, fen: int) -> None:
    doc = schedule(percentage_line(minimum=5, maximum=2000))
    assert schema_errors(doc) == []
    assert assess(doc, {"x": {"money": base}}, ON).total_fen == fen


@pytest.mark.parametrize(
    ("base", "fen"),
    [
        ("1.00", 1),  # 0.005 → 0.01: half up, not to even
        ("3.00", 2),  # 0.015 → 0.02
        ("0.99", 0),  # 0.00495 → 0.00
        ("1.01", 1),  # 0.00505 → 0.01
    ],
)
def test_rounding_is_half_up_to_the_fen(base: str, fen: int) -> None:
    doc = schedule(percentage_line(percent="0.5"))
    assert assess(doc, {"x": {"money": base}}, ON).total_fen == fen


def test_exemption_beats_reduction_and_relief_lists_lines() -> None:
    doc = schedule(
        {"id": "a", "name": "甲项", "kind": "fixed", "amount": "10.05"},
        {"id": "b", "name": "乙项", "kind": "fixed", "amount": 3},
        exemptions=[
            {
                "id": "free_a",
                "name": "免甲",
                "when": {"field": "x.kind", "eq": "a"},
                "applies_to": ["a"],
                "basis": [{"law": "免收依据", "article": "第二条"}],
            }
        ],
        reductions=[
            {
                "id": "half",
                "name": "减半",
                "when": {"field": "x.kind", "in": ["a", "b"]},
                "reduce_percent": 50,
                "basis": [{"law": "减收依据", "article": "第三条"}],
            }
        ],
    )
    assert schema_errors(doc) == []
    a = assess(doc, {"x": {"kind": "a"}}, ON)
    # a: 10.05 exempted; b: 3.00 halved to 1.50
    assert [(r.id, r.amount_fen, r.lines) for r in a.reliefs] == [
        ("free_a", -1005, ("a",)),
        ("half", -150, ("b",)),
    ]
    assert a.total_fen == 150
    b = assess(doc, {"x": {"kind": "b"}}, ON)
    # 10.05 / 2 = 5.025 → 5.03; 3 / 2 = 1.50; total 6.53
    assert [(r.id, r.amount_fen) for r in b.reliefs] == [("half", -502 - 150)]
    assert b.total_fen == 653


def test_line_without_applicable_conditions_is_skipped() -> None:
    doc = schedule({"id": "a", "name": "甲项", "kind": "fixed", "amount": 5, "when": {"field": "x.kind", "eq": "b"}})
    a = assess(doc, {"x": {"kind": "a"}}, ON)
    assert a.lines == () and a.total_fen == 0


def test_render_assessment_is_itemised() -> None:
    a = assess(load("realestate-registration"), estate(use="residential", certificate_copies=3, small_micro=True), ON)
    text = render_assessment(a)
    assert "不动产登记费（realestate-registration）" in text
    assert "住宅类不动产登记费" in text and "80.00 元/件" in text
    assert "数量：3 本" in text and "10.00 元/本，首 1 本免收，计费 2 本" in text
    assert "发改价格规〔2016〕2559号" in text
    assert "免收：小微企业（含个体工商户）免收不动产登记费" in text and "-80.00 元" in text
    assert text.rstrip().splitlines()[-1].startswith("合计：") and text.rstrip().endswith("20.00 元")


def test_assessment_as_dict_is_json_ready() -> None:
    a = assess(load("court-case-acceptance"), lawsuit("10001", procedure="simple"), ON)
    assert isinstance(a, Assessment)
    out = json.loads(json.dumps(a.as_dict(), ensure_ascii=False))
    assert out["total_fen"] == 2502 and out["total"] == "25.02 元"
    assert out["lines"][0]["quantity"] == "10001"


# --- money helpers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("money", "fen"),
    [(80, 8000), ("80", 8000), ("12.5", 1250), ("12.50", 1250), ("0.01", 1), (Decimal("1.10"), 110)],
)
def test_to_fen(money: Any, fen: int) -> None:
    assert to_fen(money) == fen


@pytest.mark.parametrize(
    ("money", "error"),
    [
        (0.1, TypeError),
        (True, TypeError),
        ("1.234", ValueError),
        ("12,50", ValueError),
        (Decimal("0.001"), ValueError),
    ],
)
def test_to_fen_refuses_inexact_money(money: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        to_fen(money)


@pytest.mark.parametrize(("fen", "text"), [(8000, "80.00 元"), (5, "0.05 元"), (0, "0.00 元"), (-47000, "-470.00 元")])
def test_format_fen(fen: int, text: str) -> None:
    assert format_fen(fen) == text


# --- check_fee_schedule ------------------------------------------------------------------


def kinds(doc: dict[str, Any], file: str = "fees/test.yaml") -> list[tuple[str, tuple[Any, ...]]]:
    return [(f.kind, f.path) for f in check_fee_schedule(file, doc)]


def test_check_id_must_match_file_name() -> None:
    doc = schedule({"id": "a", "name": "甲", "kind": "fixed", "amount": 1})
    assert kinds(doc, "fees/other.yaml") == [("fee-id", ("id",))]
    assert "rename the file to test.yaml or set id: other" in check_fee_schedule("fees/other.yaml", doc)[0].message


def test_check_dates() -> None:
    doc = schedule(
        {"id": "a", "name": "甲", "kind": "fixed", "amount": 1},
        effective={"from": "2021-01-01", "until": "2020-12-31"},
    )
    assert kinds(doc) == [("fee-dates", ("effective", "until"))]
    doc["effective"] = {"from": "2021-02-30"}
    assert kinds(doc) == [("fee-dates", ("effective", "from"))]


def test_check_duplicate_ids_and_unknown_lines() -> None:
    doc = schedule(
        {"id": "a", "name": "甲", "kind": "fixed", "amount": 1},
        {"id": "a", "name": "乙", "kind": "fixed", "amount": 2},
        exemptions=[
            {
                "id": "r",
                "name": "免",
                "when": {"field": "x.kind", "eq": "a"},
                "applies_to": ["aa"],
                "basis": [{"law": "依据", "article": "第一条"}],
            }
        ],
        reductions=[
            {
                "id": "r",
                "name": "减",
                "when": {"field": "x.kind", "eq": "a"},
                "reduce_percent": 150,
                "basis": [{"law": "依据", "article": "第一条"}],
            }
        ],
    )
    assert schema_errors(doc) == []
    found = check_fee_schedule("fees/test.yaml", doc)
    assert [(f.kind, f.path) for f in found] == [
        ("duplicate-id", ("lines", 1, "id")),
        ("unknown-line", ("exemptions", 0, "applies_to", 0)),
        ("duplicate-id", ("reductions", 0, "id")),
        ("fee-range", ("reductions", 0, "reduce_percent")),
    ]
    assert "did you mean 'a'?" in found[1].message


def test_check_tiers_and_range() -> None:
    doc = schedule(
        {
            "id": "t",
            "name": "分档",
            "kind": "tiered",
            "base": "x.n",
            "mode": "progressive",
            "minimum": 10,
            "maximum": "9.99",
            "bands": [
                {"up_to": 100, "rate": 1},
                {"rate": 2},
                {"up_to": 50, "rate": 3},
                {"up_to": "50", "rate": 4},
            ],
        },
    )
    assert schema_errors(doc) == []
    assert kinds(doc) == [
        ("fee-range", ("lines", 0, "maximum")),
        ("fee-tiers", ("lines", 0, "bands", 1)),
        ("fee-tiers", ("lines", 0, "bands", 2, "up_to")),
        ("fee-tiers", ("lines", 0, "bands", 3, "up_to")),
    ]


def test_check_fields() -> None:
    doc = schedule(
        {"id": "u", "name": "按件", "kind": "per_unit", "quantity": "x.copies", "rate": 1, "unit": "本"},
        {"id": "p", "name": "比例", "kind": "percentage", "base": "x.n", "percent": 1},
        {
            "id": "f",
            "name": "固定",
            "kind": "fixed",
            "amount": 1,
            "when": {"any": [{"field": "x.kind", "in": ["a", "c"]}, {"field": "x.knd", "eq": "a"}]},
        },
    )
    assert schema_errors(doc) == []
    found = check_fee_schedule("fees/test.yaml", doc)
    assert [(f.kind, f.path) for f in found] == [
        ("unknown-field", ("lines", 0, "quantity")),
        ("field-type", ("lines", 1, "base")),
        ("unknown-field", ("lines", 2, "when", "any", 1, "field")),
        ("unknown-value", ("lines", 2, "when", "any", 0, "in", 1)),
    ]
    assert "did you mean 'x.kind'?" in found[2].message


def test_check_never_raises_on_odd_documents() -> None:
    for doc in (
        {},
        {"lines": "oops"},
        {"lines": [None, {"kind": "tiered", "bands": [None]}]},
        {"fields": [], "exemptions": [{"applies_to": 3}]},
    ):
        assert isinstance(check_fee_schedule("fees/x.yaml", doc), list)


@pytest.mark.parametrize(
    ("line", "where"),
    [
        ({"id": "a", "name": "甲", "kind": "fixed", "amount": 1, "rate": 2}, ["lines", 0]),  # a per_unit key
        ({"id": "a", "name": "甲", "kind": "fixed", "amount": 1.5}, ["lines", 0, "amount"]),  # a float
        ({"id": "a", "name": "甲", "kind": "per_unit", "quantity": "x.n", "rate": 1}, ["lines", 0]),  # no unit
        (
            {"id": "a", "name": "甲", "kind": "tiered", "base": "x.n", "mode": "whole",
             "bands": [{"up_to": 1, "amount": 1, "percent": "2"}]},
            ["lines", 0, "bands", 0],
        ),  # two charges in one band
        ({"id": "a", "name": "甲", "kind": "percentage", "base": "x.money"}, ["lines", 0]),  # no percent
    ],
)  # fmt: skip
def test_schema_rejects_bad_lines(line: dict[str, Any], where: list[Any]) -> None:
    errors = list(validator().iter_errors(schedule(line)))
    assert errors and all(list(e.absolute_path)[: len(where)] == where for e in errors)


def test_schema_rejects_a_reduction_with_two_effects() -> None:
    doc = schedule(
        {"id": "a", "name": "甲", "kind": "fixed", "amount": 1},
        reductions=[{"id": "r", "name": "减", "when": {"field": "x.kind", "eq": "a"}, "reduce_percent": 50,
                     "pay_amount": 1, "basis": [{"law": "依据", "article": "第一条"}]}],
    )  # fmt: skip
    assert schema_errors(doc) != []


def test_describe_schedule_for_guides() -> None:
    text = describe_schedule(load("realestate-registration"), {"realestate.use": "房屋用途"})
    assert text[0] == "住宅类不动产登记费：每件 80.00 元（房屋用途为住宅类时收取）"
    assert text[2].startswith(
        "不动产权属证书工本费（第二本起）：每本 10.00 元，首 1 本免收，按核发不动产权属证书本数计"
    )
    assert any(
        t.startswith("免收：小微企业（含个体工商户）免收不动产登记费——申请人为小微企业（含个体工商户）为是时")
        for t in text
    )
    assert any("非住宅类不动产登记费减按 80.00 元收取" in t for t in text)
    assert text[-1].startswith("收费依据：")
    court = describe_schedule(load("court-preservation"))
    assert court[0] == (
        "申请保全措施费：按实际保全的财产数额分段累计——不超过 1000 元：30.00 元；"
        "超过 1000 元 至 100000 元的部分：1%；超过 100000 元的部分：0.5%，最高 5000.00 元"
    )
    patent = describe_schedule(load("patent-annual-fee"))
    assert "按缴费年度（自申请日起第几年）所在档次——不超过 3 年：900.00 元；超过 3 年 至 6 年：1200.00 元" in patent[0]
