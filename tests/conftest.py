from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the developer's ~/.cache: each test gets its own check cache."""
    monkeypatch.setenv("YANGGUANG_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def reference():  # type: ignore[no-untyped-def]
    from engine.check.pipeline import load

    return load(REPO)
