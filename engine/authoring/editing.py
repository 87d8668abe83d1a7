"""``yangguang edit``: one edit, made where the item is written — in this catalogue's own file
(engine.authoring.edit.edit_own) or, for an item this catalogue inherits, in its override file
(engine.authoring.override_edit). Both check the catalogue with the edit before anything is written.

Here, above both, because the override edit uses the file-edit toolkit of engine.authoring.edit
while the choice between them needs both.
"""

from __future__ import annotations

from pathlib import Path

from engine.authoring import override_edit
from engine.authoring.edit import Action, EditOutcome, catalogue_root, edit_own, outside, target_file
from engine.catalogue.cache import FileCache
from engine.catalogue.discover import kind_of
from engine.check.pipeline import load


def edit(root: Path | str, name: str, action: Action, dry_run: bool = False, reason: str | None = None) -> EditOutcome:
    """Make ``action`` on ``name``'s file, check the catalogue with it, and write it (atomically)
    unless ``dry_run`` or it adds a problem (EditRefused, carrying the outcome). An item this
    catalogue inherits is changed in its override file instead (engine.authoring.override_edit; a new
    one needs ``reason``)."""
    root = catalogue_root(root)
    cache = FileCache(root)
    before = load(root, cache, full=False)
    found = target_file(root, name, before, for_writing=False)
    cat = before.catalogue
    if found.kind == "item" and (
        outside(root, found.file) or kind_of(found.file) == "override" or found.key in cat.patches
    ):
        return override_edit.edit(root, cache, before, found.key, action, reason, dry_run)
    return edit_own(root, cache, before, name, action, dry_run)
