"""The what-if example of README ("promised limit of one item from 10 to 5 working days"): a copy of the
reference catalogue with that one change, as the README makes it."""

from __future__ import annotations

from pathlib import Path

from support import copy_catalogue

#: the README's reference item: promised 10 working days, standard steps
ITEM = "QQ-TRANSPORT-XK-102"
ITEM_FILE = "items/transport/road-passenger-operation-licence.yaml"


def shorter_promise(dest: Path, value: int = 5) -> Path:
    """A copy of the reference catalogue at ``dest`` whose ``ITEM`` promises ``value`` working days."""
    copy_catalogue(dest)
    path = dest / ITEM_FILE
    text = path.read_text(encoding="utf-8")
    head, tail = text.split("  promised:\n    value: 10\n", 1)
    path.write_text(f"{head}  promised:\n    value: {value}\n{tail}", encoding="utf-8")
    return dest
