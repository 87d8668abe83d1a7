"""The flowchart and the charts draw exactly what they drew: a digest of the SVG of a few synthetic
inputs, in Chinese (the source text, so no translation edit moves it). A refactoring of
engine/web/flowchart.py, charts.py or chart_svg.py that changes one byte fails here; a change of the
drawing made on purpose updates :data:`DIGESTS` (the failure prints the new digests)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from engine.base import i18n
from engine.web import charts
from engine.web.flowchart import flowchart_svg

DAYS = [f"3月{d}日" for d in range(1, 32)]


def _item(**extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "code": "T-GOLDEN-1",
        "name": "建设工程施工许可证核发（测试）",
        "type": "license",
        "time_limit": {"legal": {"value": 20, "unit": "working_day"}, "promised": {"value": 5, "unit": "working_day"}},
        "result": {"kind": "certificate", "name": "建筑工程施工许可证（电子证照与纸质证书同时发放）"},
        "steps": [
            {"id": "accept", "name": "受理", "role": "window", "limit": {"value": 0, "unit": "working_day"}},
            {"id": "a", "name": "审查施工图设计文件审查合格书", "role": "undertaker",
             "limit": {"value": 2, "unit": "working_day"}},
            {"id": "b", "name": "现场踏勘", "role": "inspector", "parallel_with": "a",
             "limit": {"value": 3, "unit": "natural_day"}},
            {"id": "c", "name": "消防设计审查（特殊建设工程）", "role": "reviewer", "parallel_with": "a"},
            {"id": "decide", "name": "审批", "role": "decider", "limit": {"value": 1, "unit": "working_day"}},
            {"id": "issue", "name": "制证发证", "role": "issuer", "limit": {"value": 30, "unit": "minute"}},
        ],
        "special_procedures": [
            {"kind": "hearing", "name": "听证（涉及重大公共利益的）", "max": {"value": 20, "unit": "working_day"},
             "counts_toward_limit": False},
            {"kind": "expert_review", "name": "专家评审 <A&B>"},
        ],
    }  # fmt: skip
    item.update(extra)
    return item


SERIES = [charts.Series("收件", [5, 8, None, 120000, 3] * 6 + [7]), charts.Series("办结", [4, None, 6, 9, 2] * 6 + [0])]
RATES = [charts.Series("按期办结率", [100, 95.25, None, 80, 99.5] * 6 + [None], "ok")]
LIGHTS = [
    charts.Series("黄灯", [1, 0, 2], "warning"),
    charts.Series("异常", [0, -1, 1], "abnormal"),
    charts.Series("红灯", [3, 1, None], "violation"),
]
DEPTS = ["市住房和城乡建设局", "市场监督管理局（行政审批科与登记注册科合并办公）", "自然资源和规划局"]

#: what is drawn, by name; DIGESTS: the sha256 of each one's SVG
DRAWINGS: dict[str, Callable[[], str]] = {
    "flowchart": lambda: flowchart_svg(_item()),
    "flowchart-bare": lambda: flowchart_svg(_item(type="service", result=None, time_limit=None, special_procedures=[])),
    "line": lambda: charts.line_chart(SERIES, title="每日收件与办结", x_labels=DAYS, y_label="件"),
    "line-dense": lambda: charts.line_chart(
        RATES, title="按期办结率", x_labels=DAYS, y_format=charts.format_percent, y_max=100, width=200
    ),
    "bars": lambda: charts.bar_chart(LIGHTS, title="亮灯", x_labels=DEPTS),
    "bars-stacked-ranking": lambda: charts.bar_chart(
        LIGHTS, title="部门亮灯排名", x_labels=DEPTS, stacked=True, horizontal=True, show_title=False
    ),
    "bars-ranking": lambda: charts.bar_chart(LIGHTS[2:], title="得分", x_labels=DEPTS, horizontal=True, height=160),
    "bars-empty": lambda: charts.bar_chart([charts.Series("得分", [])], title="暂无", x_labels=[]),
}
DIGESTS = {
    "flowchart": "6feb309b9b4f584821b15e1591ef6e82bdd4fbec6601675bb0de19cfd8f974a1",
    "flowchart-bare": "01338193b68d11802c0155ac10441b7f450d2fb6b964b1b4266fb7fe75c15811",
    "line": "0ad59a2bc9578eb7e6c3566493caefaa54023b4da5ba4301295934beb479a0ad",
    "line-dense": "43689a20818480567bf711c990fdb817a669277510d52d302902d65abf1712ad",
    "bars": "3f00a3fa17c794e578c6b85541b79bef73bd73f03483fe3e846d97b27371b910",
    "bars-stacked-ranking": "7266e7d4d603613dd6d34d8624f1215a6a025c2e10b61fa24110fdd1c43b0d64",
    "bars-ranking": "6120b98bc3fedcb41b422896fcc2c55998070bbb458b4cfad52cbc7f843ffdda",
    "bars-empty": "cdb18cd7822a4db6fbfffc6121d08ae87626a307c605a17ceb0f2c022173af3f",
}


def test_the_drawings_are_byte_for_byte_what_they_were() -> None:
    with i18n.speaking(i18n.DEFAULT):
        now = {name: hashlib.sha256(draw().encode()).hexdigest() for name, draw in DRAWINGS.items()}
    assert now == DIGESTS, f"the drawing changed; if on purpose, DIGESTS = {now!r}"
