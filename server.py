"""ASGI entry point: ``uvicorn server:app`` (``make run`` uses ``yangguang serve``, which does the same).

Settings come from the environment: YANGGUANG_CATALOG (default: this repository's
reference catalogue), YANGGUANG_DB (default: var/yangguang.db) and YANGGUANG_SWEEP_SECONDS
(how often the timed rules and supervision lights run; default 60, 0 = off).
"""

import os
from pathlib import Path

from engine.web import create_app

app = create_app(
    catalog=Path(os.environ.get("YANGGUANG_CATALOG", Path(__file__).resolve().parent)),
    db=Path(os.environ.get("YANGGUANG_DB", "var/yangguang.db")),
    sweep_seconds=float(os.environ.get("YANGGUANG_SWEEP_SECONDS", "60")),
)
