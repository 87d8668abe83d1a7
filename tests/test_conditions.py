from __future__ import annotations

import pytest

from engine.conditions import describe, evaluate, referenced_fields

DATA = {"applicant": {"type": "legal_person", "by_agent": False, "area": "120.5", "kinds": ["food", "drink"]}}


@pytest.mark.parametrize(
    ("cond", "expected"),
    [
        ({"field": "applicant.type", "eq": "legal_person"}, True),
        ({"field": "applicant.type", "ne": "legal_person"}, False),
        ({"field": "applicant.type", "in": ["natural_person", "legal_person"]}, True),
        ({"field": "applicant.area", "gt": "120"}, True),
        ({"field": "applicant.area", "lte": 120}, False),
        ({"field": "applicant.by_agent", "eq": True}, False),
        ({"field": "applicant.missing", "present": False}, True),
        ({"field": "applicant.missing", "eq": "x"}, False),
        ({"field": "applicant.missing", "ne": "x"}, True),
        ({"field": "applicant.kinds", "eq": "food"}, True),
        ({"all": [{"field": "applicant.type", "eq": "legal_person"}, {"field": "applicant.area", "gte": 100}]}, True),
        ({"any": [{"field": "applicant.type", "eq": "x"}, {"field": "applicant.area", "lt": 100}]}, False),
        ({"not": {"field": "applicant.type", "eq": "x"}}, True),
    ],
)
def test_evaluate(cond: dict, expected: bool) -> None:  # type: ignore[type-arg]
    assert evaluate(cond, DATA) is expected


def test_flat_data_keys_work_too() -> None:
    assert evaluate({"field": "applicant.type", "eq": "x"}, {"applicant.type": "x"})


def test_referenced_fields_with_paths() -> None:
    cond = {"all": [{"field": "a.b", "eq": 1}, {"not": {"field": "c.d", "present": True}}]}
    assert list(referenced_fields(cond, ("materials", 0, "required"))) == [
        (("materials", 0, "required", "all", 0, "field"), "a.b"),
        (("materials", 0, "required", "all", 1, "not", "field"), "c.d"),
    ]


def test_describe_in_words() -> None:
    labels = {"applicant.type": "申请人类型", "=legal_person": "法人或其他组织"}
    assert describe({"field": "applicant.type", "eq": "legal_person"}, labels) == "申请人类型为法人或其他组织"
    assert describe({"any": [{"field": "x.a", "present": True}, {"field": "x.b", "gt": 3}]}) == "已填写x.a或者x.b大于3"
