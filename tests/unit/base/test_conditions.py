from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.base.conditions import describe, evaluate, referenced_fields

REPO = Path(__file__).resolve().parents[3]
# One table of cases for both evaluators: Python here, the browser's engine/web/static/conditions.js via Node.
SHARED = json.loads((REPO / "tests" / "fixtures" / "conditions.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("cond", "expected"), SHARED["cases"], ids=[json.dumps(c[0]) for c in SHARED["cases"]])
def test_evaluate(cond: dict, expected: bool) -> None:  # type: ignore[type-arg]
    assert evaluate(cond, SHARED["data"]) is expected


def test_browser_evaluator_agrees_with_python() -> None:
    node = shutil.which("node") or shutil.which("nodejs")
    assert node, "Node.js is needed to test engine/web/static/conditions.js (apt-get install nodejs)"
    script = (
        "const c = require(process.argv[1]); const t = require(process.argv[2]);"
        "console.log(JSON.stringify(t.cases.map(([cond]) => c.evaluate(cond, t.data))));"
    )
    js, table = REPO / "engine/web/static/conditions.js", REPO / "tests/fixtures/conditions.json"
    out = subprocess.run(
        [node, "-e", script, str(js), str(table)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert json.loads(out) == [expected for _, expected in SHARED["cases"]]


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
