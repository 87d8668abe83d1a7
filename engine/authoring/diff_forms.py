"""``yangguang diff`` on form sections: the reusable ones in forms/, and each item's section list
(reusable sections named by id, inline ones) — what an applicant sees change on the form.

A mixin of engine.authoring.diff's comparison: it files changes through the same ``add`` and ``on``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from engine.authoring.diff_match import keyed as _keyed
from engine.authoring.diff_match import leaves as _leaves
from engine.authoring.diff_words import said
from engine.catalogue.model import Catalogue

__all__ = ["FormChanges"]


def _section_key(entry: Any) -> str:
    return str(entry.get("id")) if isinstance(entry, dict) else str(entry)


class FormChanges:
    """Form-section comparisons; the comparison class supplies the catalogues and the filing methods."""

    old: Catalogue
    new: Catalogue

    def add(self, kind: str, field: str | None, old: Any, new: Any, text: str) -> None:
        raise NotImplementedError

    def on(self, subject: str, code: str | None, items: Sequence[str] = ()) -> None:
        raise NotImplementedError

    def pair(self, table: str, key: str) -> tuple[Any, Any]:
        raise NotImplementedError

    def whole(self, kinds: tuple[str, str], noun: str, key: str, o: Any, n: Any, label: str = "name") -> bool:
        raise NotImplementedError

    def users(self, refs: Callable[[Mapping[str, Any]], list[str]]) -> dict[str, list[str]]:
        raise NotImplementedError

    def sections(self, so: list[Any], sn: list[Any]) -> None:
        """The item's form sections: a reusable one (named by id) or inline, matched by id."""
        if so == sn:
            return

        def label(cat: Catalogue, entry: Any) -> str:
            if isinstance(entry, dict):
                return str(entry.get("title", entry.get("id")))
            doc = cat.forms.get(entry)
            return str(doc.data.get("title", entry)) if doc is not None and doc.data else str(entry)

        ko, kn = {_section_key(e): e for e in so}, {_section_key(e): e for e in sn}
        for k, e in ko.items():
            if k not in kn:
                self.add(
                    "form-section-removed",
                    f"form.sections.{k}",
                    e,
                    None,
                    f"取消表单分组「{label(self.old, e)}」（{k}）",
                )
        for k, e in kn.items():
            if k not in ko:
                self.add(
                    "form-section-added", f"form.sections.{k}", None, e, f"新增表单分组「{label(self.new, e)}」（{k}）"
                )
        for k, a in ko.items():
            b = kn.get(k)
            if b is None or a == b:
                continue
            if not (isinstance(a, dict) and isinstance(b, dict)):
                now = "本事项内联填写" if isinstance(b, dict) else "可复用分组 forms/" + str(b)
                self.add(
                    "form-section-changed", f"form.sections.{k}", a, b, f"表单分组「{label(self.new, b)}」改为{now}"
                )
                continue
            what = f"表单分组「{label(self.new, b)}」"
            if a.get("title") != b.get("title"):
                self.add("form-section-changed", f"form.sections.{k}.title", a.get("title"), b.get("title"),
                         f"表单分组更名：「{a.get('title')}」→「{b.get('title')}」")  # fmt: skip
            self.section_fields(what, a, b, "form-section-changed", f"form.sections.{k}.")
            for path, x, y in _leaves(a, b):
                if path.split(".", 1)[0] not in ("title", "fields"):
                    self.add("form-section-changed", f"form.sections.{k}.{path}", x, y, said(what, path, x, y))
        if [k for k in ko if k in kn] != [k for k in kn if k in ko]:
            self.add("form-section-order", "form.sections", None, None, "表单分组顺序已调整")

    def section_fields(self, what: str, o: Mapping[str, Any], n: Mapping[str, Any], kind: str, at: str = "") -> None:
        """A form section's fields in both versions: removed, added, changed, reordered."""
        removed, added, kept, moved = _keyed(o.get("fields"), n.get("fields"))
        for f, spec in removed:
            self.add(kind, f"{at}fields.{f}", spec, None, f"{what}删除字段「{spec['label']}」（{f}）")
        for f, spec in added:
            self.add(kind, f"{at}fields.{f}", None, spec, f"{what}新增字段「{spec['label']}」（{f}）")
        for f, x, y in kept:
            if x != y:
                keys = "、".join(dict.fromkeys(p.split(".")[0] for p, _, _ in _leaves(x, y)))
                self.add(kind, f"{at}fields.{f}", x, y, f"{what}字段「{y['label']}」的 {keys} 已修改")
        if moved:
            self.add(kind, f"{at}fields", None, None, f"{what}字段顺序已调整")

    def forms_all(self) -> None:
        users = self.users(lambda d: [s for s in (d.get("form") or {}).get("sections", []) if isinstance(s, str)])
        for fid in sorted(set(self.old.forms) | set(self.new.forms)):
            o, n = self.pair("forms", fid)
            self.on("form", fid, users.get(fid, ()))
            if self.whole(("form-added", "form-removed"), "表单分组", fid, o, n, "title"):
                continue
            what = f"表单分组「{n['title']}」"
            self.section_fields(what, o, n, "form-changed")
            for path, a, b in _leaves(o, n):
                if path != "fields":
                    self.add("form-changed", path, a, b, said(what, path, a, b))
