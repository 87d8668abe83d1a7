"""Re-checking uses the content cache, and never returns a stale answer."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from engine.catalogue.cache import FileCache
from engine.check.pipeline import load

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "checks"


def copy(name: str, tmp_path: Path) -> Path:
    dest = tmp_path / name
    shutil.copytree(FIXTURES / name, dest)
    return dest


def test_edit_is_seen_by_the_next_check(tmp_path: Path) -> None:
    cat = copy("clean-subfolders", tmp_path)
    cache_dir = tmp_path / "cache"
    assert load(cat, FileCache(cat, cache_dir)).ok
    item = cat / "items" / "a.yaml"
    item.write_text(item.read_text(encoding="utf-8").replace("type: license", "type: licence"), encoding="utf-8")
    result = load(cat, FileCache(cat, cache_dir))
    assert [p.kind for p in result.problems] == ["enum"]
    item.write_text(item.read_text(encoding="utf-8").replace("type: licence", "type: license"), encoding="utf-8")
    assert load(cat, FileCache(cat, cache_dir)).ok


def test_same_size_same_mtime_edit_is_still_caught_by_content(tmp_path: Path) -> None:
    cat = copy("clean-subfolders", tmp_path)
    cache_dir = tmp_path / "cache"
    item = cat / "items" / "a.yaml"
    st = item.stat()
    assert load(cat, FileCache(cat, cache_dir)).ok
    # same length and the very same mtime restored afterwards (as cp -p, rsync -t or tar do)
    item.write_text(item.read_text(encoding="utf-8").replace("level: county", "level: countx"), encoding="utf-8")
    os.utime(item, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert item.stat().st_size == st.st_size and item.stat().st_mtime_ns == st.st_mtime_ns
    assert [p.kind for p in load(cat, FileCache(cat, cache_dir)).problems] == ["enum"]


def test_unchanged_files_are_not_parsed_again(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    cat = copy("clean-subfolders", tmp_path)
    cache_dir = tmp_path / "cache"
    load(cat, FileCache(cat, cache_dir))
    import engine.catalogue.reading

    calls: list[int] = []
    real = engine.catalogue.reading.parse
    monkeypatch.setattr(engine.catalogue.reading, "parse", lambda raw: calls.append(1) or real(raw))
    assert load(cat, FileCache(cat, cache_dir)).ok
    assert calls == []


def test_corrupt_cache_is_ignored(tmp_path: Path) -> None:
    cat = copy("enum", tmp_path)
    cache = FileCache(cat, tmp_path / "cache")
    load(cat, cache)
    cache.path.write_bytes(b"garbage")
    assert [p.kind for p in load(cat, FileCache(cat, tmp_path / "cache")).problems] == ["enum"]


def test_deleted_file_leaves_the_result(tmp_path: Path) -> None:
    cat = copy("duplicate-code", tmp_path)
    cache_dir = tmp_path / "cache"
    assert not load(cat, FileCache(cat, cache_dir)).ok
    (cat / "items" / "b.yaml").unlink()
    assert load(cat, FileCache(cat, cache_dir)).ok


def test_check_only_rechecks_the_edited_item_but_sees_its_effect_on_others(tmp_path: Path) -> None:
    cat = copy("clean-subfolders", tmp_path)
    cache_dir = tmp_path / "cache"
    b = cat / "items" / "amr" / "food" / "b.yaml"
    a = cat / "items" / "a.yaml"
    # b's material is produced by a (QQ-A-001)
    b.write_text(
        b.read_text(encoding="utf-8").replace(
            "  - {id: form, name: 申请书, required: true}",
            "  - {id: form, name: 申请书, required: true}\n"
            "  - {id: licence, name: 许可证, required: true, produced_by: QQ-A-001}",
        ),
        encoding="utf-8",
    )
    assert load(cat, FileCache(cat, cache_dir), full=False).ok
    # renaming a's code breaks b, which did not change: b's findings must not come from the cache
    a.write_text(a.read_text(encoding="utf-8").replace("code: QQ-A-001", "code: QQ-A-009"), encoding="utf-8")
    result = load(cat, FileCache(cat, cache_dir), full=False)
    assert [(p.file, p.kind) for p in result.problems] == [("items/amr/food/b.yaml", "unknown-item")]
    # a department removed from center.yaml is seen by every item
    a.write_text(a.read_text(encoding="utf-8").replace("code: QQ-A-009", "code: QQ-A-001"), encoding="utf-8")
    center = cat / "center.yaml"
    center.write_text(center.read_text(encoding="utf-8").replace("id: amr", "id: amx"), encoding="utf-8")
    result = load(cat, FileCache(cat, cache_dir), full=False)
    assert sorted(p.file for p in result.problems if p.kind == "unknown-department") == [
        "items/a.yaml",
        "items/amr/food/b.yaml",
    ]


def test_lost_object_store_is_rebuilt_from_the_files(tmp_path: Path) -> None:
    cat = copy("clean-subfolders", tmp_path)
    cache_dir = tmp_path / "cache"
    assert load(cat, FileCache(cat, cache_dir)).ok
    for objects in cache_dir.glob("objects-*"):
        shutil.rmtree(objects)
    result = load(cat, FileCache(cat, cache_dir))
    assert result.ok and all(d.data is not None for d in result.catalogue.items.values())


def test_old_versions_are_pruned_from_the_object_store(tmp_path: Path) -> None:
    cat = copy("clean-subfolders", tmp_path)
    cache_dir = tmp_path / "cache"
    item = cat / "items" / "a.yaml"
    text = item.read_text(encoding="utf-8")
    for i in range(80):
        item.write_text(text.replace("name: 示例事项", f"name: 示例事项{i}"), encoding="utf-8")
        assert load(cat, FileCache(cat, cache_dir)).ok
    (objects,) = cache_dir.glob("objects-*")
    assert len(list(objects.iterdir())) <= 2 * 3 // 2 + 50 + 1


def test_load_restores_the_garbage_collector(tmp_path: Path) -> None:
    import gc

    assert gc.isenabled()
    load(copy("yaml-syntax", tmp_path))
    assert gc.isenabled()
