from __future__ import annotations

import copy
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.catalogue.model import Catalogue, Document
from engine.check.pipeline import load
from engine.rules.forms import FieldError, normalise, required_materials, validate, visible_fields

REPO = Path(__file__).resolve().parents[3]
SEAL = "QQ-PSB-BA-001"
VENUE = "QQ-CULTURE-XK-101"
TOBACCO = "QQ-TOBACCO-XK-101"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    return load(REPO).catalogue


def item(cat: Catalogue, code: str) -> Document:
    return cat.items[code]


def seal_data(**changes: Any) -> dict[str, Any]:
    """A complete, valid 公章刻制备案 application by a company without an agent."""
    data: dict[str, Any] = {
        "applicant": {
            "type": "legal_person",
            "name": "齐齐哈尔某某科技有限公司",
            "credit_code": "91350100M000100Y43",
            "legal_representative": "张三",
            "by_agent": "false",
        },
        "contact": {"name": "李四", "phone": "13800138000", "address": "龙沙区某路 1 号", "delivery": "online"},
        "seal": {"kinds": ["official", "finance"], "engraver": "某某刻章社", "reason": "new"},
    }
    for dotted, value in changes.items():
        section, _, field = dotted.partition("__")
        data[section][field] = value
    return data


SEAL_UPLOADS = {"rep_id": ["u1"]}


def codes(errors: list[FieldError]) -> dict[str, str]:
    return {e.field: e.code for e in errors}


# ---------------------------------------------------------------- the seal filing item


def test_valid_application_has_no_errors(cat: Catalogue) -> None:
    data, errors = validate(cat, item(cat, SEAL), seal_data(), SEAL_UPLOADS)
    assert errors == []
    assert data["applicant"]["by_agent"] is False
    assert data["seal"]["kinds"] == ["official", "finance"]


def test_legal_person_needs_credit_code_and_representative(cat: Catalogue) -> None:
    raw = seal_data()
    del raw["applicant"]["credit_code"], raw["applicant"]["legal_representative"]
    _, errors = validate(cat, item(cat, SEAL), raw, SEAL_UPLOADS)
    assert codes(errors) == {"applicant.credit_code": "required", "applicant.legal_representative": "required"}
    assert {e.message for e in errors} == {"请填写统一社会信用代码", "请填写法定代表人（负责人）姓名"}


def test_natural_person_needs_id_card_not_credit_code(cat: Catalogue) -> None:
    raw = seal_data(applicant__type="natural_person")
    data, errors = validate(cat, item(cat, SEAL), raw, SEAL_UPLOADS)
    assert codes(errors) == {"applicant.id_card": "required"}
    assert "credit_code" not in data["applicant"]  # hidden now: dropped, not an error


def test_by_agent_makes_agent_fields_and_authorisation_required(cat: Catalogue) -> None:
    doc = item(cat, SEAL)
    raw = seal_data(applicant__by_agent="on")
    _, errors = validate(cat, doc, raw, SEAL_UPLOADS)
    assert codes(errors) == {
        "applicant.agent_name": "required",
        "applicant.agent_id_card": "required",
        "materials.agent_authorisation": "missing_material",
    }
    assert "请上传授权委托书及经办人身份证" in {e.message for e in errors}
    raw["applicant"] |= {"agent_name": "王五", "agent_id_card": "11010519491231002x"}
    data, errors = validate(cat, doc, raw, {**SEAL_UPLOADS, "agent_authorisation": ["u2"]})
    assert errors == []
    assert data["applicant"]["agent_id_card"] == "11010519491231002X"


@pytest.mark.parametrize("value", [True, "true", "on", "True", " 是 "])
def test_boolean_spellings(cat: Catalogue, value: object) -> None:
    data = normalise(cat, item(cat, SEAL), seal_data(applicant__by_agent=value))
    assert data["applicant"]["by_agent"] is True


def test_lost_seal_requires_the_loss_notice(cat: Catalogue) -> None:
    doc = item(cat, SEAL)
    raw = seal_data(seal__reason="lost")
    ids = [m["id"] for m in required_materials(cat, doc, raw)]
    assert ids == ["licence", "rep_id", "loss_notice"]
    _, errors = validate(cat, doc, raw, SEAL_UPLOADS)
    assert errors == [FieldError("materials.loss_notice", "请上传印章遗失登报声明", "missing_material")]
    _, errors = validate(cat, doc, raw, {**SEAL_UPLOADS, "loss_notice": []})
    assert codes(errors) == {"materials.loss_notice": "missing_material"}


def test_shared_material_is_listed_but_needs_no_upload(cat: Catalogue) -> None:
    listed = required_materials(cat, item(cat, SEAL), seal_data())
    licence = next(m for m in listed if m["id"] == "licence")
    assert licence == {
        "id": "licence",
        "name": "营业执照或登记证书",
        "required": True,
        "shared": True,
        "produced_by": "QQ-AMR-DJ-001",
    }
    _, errors = validate(cat, item(cat, SEAL), seal_data(), SEAL_UPLOADS)
    assert "materials.licence" not in codes(errors)


def test_uploads_none_skips_material_checks_but_empty_checks_them(cat: Catalogue) -> None:
    doc = item(cat, SEAL)
    assert validate(cat, doc, seal_data())[1] == []
    assert codes(validate(cat, doc, seal_data(), {})[1]) == {"materials.rep_id": "missing_material"}


def test_hidden_fields_are_dropped(cat: Catalogue) -> None:
    doc = item(cat, SEAL)
    raw = seal_data(applicant__id_card="not even checked", applicant__agent_name="王五")
    data, errors = validate(cat, doc, raw, SEAL_UPLOADS)
    assert errors == []
    assert "id_card" not in data["applicant"] and "agent_name" not in data["applicant"]
    names = [f.name for f in visible_fields(cat, doc, raw)]
    assert "applicant.credit_code" in names
    assert "applicant.id_card" not in names and "applicant.agent_name" not in names
    assert names.index("applicant.type") < names.index("contact.phone") < names.index("seal.kinds")


def test_all_errors_are_reported_at_once(cat: Catalogue) -> None:
    raw = seal_data(
        applicant__credit_code="91350100M000100Y44",
        contact__phone="12800138000",
        contact__email="not-an-email",
        seal__reason="stolen",
        seal__kinds=["official", "wax"],
        applicant__name="某" * 101,
    )
    raw["contact"]["fax"] = "0452-1234567"
    raw["extra"] = {"x": 1}
    raw["seal"]["engraver"] = "   "
    _, errors = validate(cat, item(cat, SEAL), raw, {"rep_id": ["u1"], "nonsense": ["u9"]})
    assert codes(errors) == {
        "applicant.credit_code": "invalid_uscc",
        "applicant.name": "too_long",
        "contact.phone": "invalid_phone",
        "contact.email": "invalid_email",
        "contact.fax": "unknown_field",
        "extra": "unknown_field",
        "seal.reason": "invalid_option",
        "seal.kinds": "invalid_option",
        "seal.engraver": "required",
        "materials.nonsense": "unknown_field",
    }
    for error in errors:
        assert CHINESE.search(error.message), error
        assert "请" in error.message, error  # every message says what to do


def test_flat_keys_are_accepted(cat: Catalogue) -> None:
    nested = seal_data()
    flat = {f"{s}.{k}": v for s, fields in nested.items() for k, v in fields.items()}
    assert validate(cat, item(cat, SEAL), flat, SEAL_UPLOADS) == validate(cat, item(cat, SEAL), nested, SEAL_UPLOADS)


@pytest.mark.parametrize(
    ("value", "code", "words"),
    [
        ("110105194912310021", "invalid_id_card", "法定代表人公民身份号码校验位不正确，请核对后重新填写"),
        ("11010519490231002X", "invalid_id_card", "出生日期"),
        ("1101051949123100", "invalid_id_card", "18 位"),
    ],
)
def test_bad_id_numbers(cat: Catalogue, value: str, code: str, words: str) -> None:
    raw = seal_data(applicant__representative_id_card=value)
    _, errors = validate(cat, item(cat, SEAL), raw, SEAL_UPLOADS)
    assert len(errors) == 1
    assert errors[0].field == "applicant.representative_id_card" and errors[0].code == code
    assert words in errors[0].message


def test_id_card_message_for_the_applicant(cat: Catalogue) -> None:
    raw = seal_data(applicant__type="natural_person", applicant__id_card="110105194912310021")
    _, errors = validate(cat, item(cat, SEAL), raw, SEAL_UPLOADS)
    assert errors == [FieldError("applicant.id_card", "公民身份号码校验位不正确，请核对后重新填写", "invalid_id_card")]


def test_identifiers_are_tidied(cat: Catalogue) -> None:
    raw = seal_data(
        applicant__credit_code=" 91350100m000100y43 ",
        contact__phone="138 0013 8000",
        contact__email=" li@example.com ",
    )
    data, errors = validate(cat, item(cat, SEAL), raw, SEAL_UPLOADS)
    assert errors == []
    assert data["applicant"]["credit_code"] == "91350100M000100Y43"
    assert data["contact"]["phone"] == "13800138000"
    assert data["contact"]["email"] == "li@example.com"


def test_checkbox_from_a_single_web_form_value(cat: Catalogue) -> None:
    data = normalise(cat, item(cat, SEAL), seal_data(seal__kinds="invoice"))
    assert data["seal"]["kinds"] == ["invoice"]
    data = normalise(cat, item(cat, SEAL), seal_data(seal__kinds=["invoice", "", "invoice"]))
    assert data["seal"]["kinds"] == ["invoice"]


def test_empty_checkbox_is_required(cat: Catalogue) -> None:
    _, errors = validate(cat, item(cat, SEAL), seal_data(seal__kinds=[]), SEAL_UPLOADS)
    assert codes(errors) == {"seal.kinds": "required"}


def test_input_is_not_modified(cat: Catalogue) -> None:
    raw = seal_data(applicant__by_agent="on")
    before = copy.deepcopy(raw)
    validate(cat, item(cat, SEAL), raw, {})
    assert raw == before


# ---------------------------------------------------------------- money never becomes a float


@pytest.mark.parametrize(
    ("value", "expected"),
    [("50000", "50000.00"), (" 1,234.5 ", "1234.50"), (12345, "12345.00"), (0.1, "0.10"), ("３００", "300.00")],
)
def test_money_is_exact_text(cat: Catalogue, value: object, expected: str) -> None:
    data, errors = validate(cat, item(cat, TOBACCO), {"tobacco_retail": {"funds": value}})
    assert "tobacco_retail.funds" not in codes(errors)
    funds = data["tobacco_retail"]["funds"]
    assert funds == expected and isinstance(funds, str)
    assert Decimal(funds) == Decimal(expected)
    assert "." in json.dumps(data)  # serialises without any float


@pytest.mark.parametrize(
    "value", ["12.345", "abc", "1e3", "NaN", True, "--1", "123456789012345678901234567890", 10**29, "1" * 21]
)
def test_bad_money(cat: Catalogue, value: object) -> None:
    """Review of issue 15: 29 digits or more answered 500 (Decimal's quantize), now a field error."""
    _, errors = validate(cat, item(cat, TOBACCO), {"tobacco_retail": {"funds": value}})
    assert codes(errors)["tobacco_retail.funds"] == "not_a_number"


def test_money_is_never_negative(cat: Catalogue) -> None:
    _, errors = validate(cat, item(cat, TOBACCO), {"tobacco_retail": {"funds": "-0.01"}})
    assert codes(errors)["tobacco_retail.funds"] == "too_small"


# ---------------------------------------------------------------- number bounds (娱乐场所经营许可)


def venue(**fields: Any) -> dict[str, Any]:
    return {"venue": fields}


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("0", "too_small"),
        ("1", None),
        ("100000", None),
        ("100001", "too_large"),
        ("12.5", "not_a_number"),
        ("x", "not_a_number"),
    ],
)
def test_integer_bounds(cat: Catalogue, value: str, code: str | None) -> None:
    data, errors = validate(cat, item(cat, VENUE), venue(kind="arcade", max_customers=value, game_machines="5"))
    assert codes(errors).get("venue.max_customers") == code
    if code is None:
        assert data["venue"]["max_customers"] == int(value)


def test_bound_message_names_the_field_and_unit(cat: Catalogue) -> None:
    _, errors = validate(cat, item(cat, VENUE), venue(kind="song_dance", rooms="1001", max_customers="10"))
    error = next(e for e in errors if e.field == "venue.rooms")
    assert error.code == "too_large"
    assert error.message == "包厢（包间）数量不能大于 1000间，请核对后重新填写"


def test_conditional_number_fields_follow_the_venue_kind(cat: Catalogue) -> None:
    doc = item(cat, VENUE)
    raw = venue(kind="song_dance", max_customers="200", game_machines="0")
    data, errors = validate(cat, doc, raw)
    assert codes(errors).get("venue.rooms") == "required"
    assert "venue.game_machines" not in codes(errors)  # hidden: its bad value is dropped, not reported
    assert data["venue"] == {"kind": "song_dance", "max_customers": 200}
    raw["venue"]["kind"] = "arcade"
    assert codes(validate(cat, doc, raw)[1]).get("venue.game_machines") == "too_small"


def test_number_area_and_date_fields(cat: Catalogue) -> None:
    doc = item(cat, VENUE)
    raw = {
        "business_premises": {
            "area": "230202",
            "floor_area": "0.5",
            "ownership": "lease",
            "lease_end": "2027/3/1",
        }
    }
    data, errors = validate(cat, doc, raw)
    got = codes(errors)
    assert got["business_premises.floor_area"] == "too_small"
    assert "business_premises.area" not in got and "business_premises.lease_end" not in got
    assert data["business_premises"]["lease_end"] == "2027-03-01"
    assert data["business_premises"]["floor_area"] == "0.5"
    raw["business_premises"] |= {"area": "2302", "lease_end": "2027-02-30", "floor_area": "120"}
    got = codes(validate(cat, doc, raw)[1])
    assert got["business_premises.area"] == "invalid_area"
    assert got["business_premises.lease_end"] == "invalid_date"
    assert "business_premises.floor_area" not in got
    raw["business_premises"]["ownership"] = "own"
    data, errors = validate(cat, doc, raw)
    assert "lease_end" not in data["business_premises"]
    assert "business_premises.lease_end" not in codes(errors)


def test_malformed_sections_and_values(cat: Catalogue) -> None:
    raw = seal_data()
    raw["contact"] = "13800138000"
    raw["seal"]["engraver"] = {"name": "某某刻章社"}
    raw["stray"] = 1
    _, errors = validate(cat, item(cat, SEAL), raw, SEAL_UPLOADS)
    got = codes(errors)
    assert got["contact"] == "unknown_field" and got["stray"] == "unknown_field"
    assert got["seal.engraver"] == "invalid_option"
    assert got["contact.phone"] == "required"  # the section's fields are still checked


def test_section_when_hides_a_whole_section(cat: Catalogue) -> None:
    seal_doc = item(cat, SEAL)
    data = copy.deepcopy(seal_doc.data)
    data["form"]["sections"].append(
        {
            "id": "loss",
            "title": "遗失情况",
            "when": {"field": "seal.reason", "eq": "lost"},
            "fields": [
                {"id": "paper", "label": "登报报纸名称", "type": "text", "required": True},
                {"id": "published", "label": "登报日期", "type": "date", "required": True},
            ],
        }
    )
    doc = Document("items/test/lost.yaml", "item", data)
    synthetic = Catalogue(REPO, "test", items={SEAL: doc}, forms=cat.forms)
    raw = seal_data()
    raw["loss"] = {"paper": "齐齐哈尔日报"}
    data_out, errors = validate(synthetic, doc, raw, SEAL_UPLOADS)
    assert errors == [] and "loss" not in data_out
    assert "loss.paper" not in [f.name for f in visible_fields(synthetic, doc, raw)]
    raw["seal"]["reason"] = "lost"
    data_out, errors = validate(synthetic, doc, raw, {**SEAL_UPLOADS, "loss_notice": ["u3"]})
    assert codes(errors) == {"loss.published": "required"}
    assert data_out["loss"] == {"paper": "齐齐哈尔日报"}


def test_a_form_compiled_once_is_not_reused_for_other_documents(cat: Catalogue) -> None:
    """The compiled form is kept per catalogue version and item code, but a catalogue holding other
    documents under the same version and code (a reload's edit, a synthetic test item) gets its own."""
    seal_doc = item(cat, SEAL)
    before = Catalogue(REPO, "same-version", items={SEAL: seal_doc}, forms=cat.forms)
    assert validate(before, seal_doc, seal_data(), SEAL_UPLOADS)[1] == []
    data = copy.deepcopy(seal_doc.data)
    data["form"]["sections"].append(
        {
            "id": "extra",
            "title": "补充",
            "fields": [{"id": "note", "label": "补充说明", "type": "text", "required": True}],
        }
    )
    edited = Document(seal_doc.file, "item", data)
    after = Catalogue(REPO, "same-version", items={SEAL: edited}, forms=cat.forms)
    assert codes(validate(after, edited, seal_data(), SEAL_UPLOADS)[1]) == {"extra.note": "required"}
    assert validate(before, seal_doc, seal_data(), SEAL_UPLOADS)[1] == []  # and the first is still right
