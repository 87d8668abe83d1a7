"""ASGI entry point: ``uvicorn server:app`` (``make run`` uses ``yangguang serve``, which does the same).

Settings come from the environment: YANGGUANG_CATALOG (default: this repository's
reference catalogue) and YANGGUANG_DB (default: var/yangguang.db).
"""

import os
from pathlib import Path

from engine.web import create_app

app = create_app(
    catalog=Path(os.environ.get("YANGGUANG_CATALOG", Path(__file__).resolve().parent)),
    db=Path(os.environ.get("YANGGUANG_DB", "var/yangguang.db")),
)
