"""ASGI entry point: ``uvicorn server:app`` (``make run`` uses ``yangguang serve``, which does the same).

Settings come from the environment: YANGGUANG_CATALOG (default: this repository's
reference catalogue), YANGGUANG_DB (an SQLite file or a postgresql:// URL; default: var/yangguang.db),
YANGGUANG_DATA_DIR (the files of a PostgreSQL database: keys, uploads; default var) and YANGGUANG_SWEEP_SECONDS
(how often the timed rules and supervision lights run; default 60, 0 = off).

The per-address upload limits (one address may be a whole office behind a proxy or an intranet
NAT address, so a center may raise them), whole numbers of at least 1:
YANGGUANG_UPLOAD_FILES_PER_MINUTE_PER_ADDRESS (default 60), YANGGUANG_UPLOAD_MB_PER_DAY_PER_ADDRESS
(default 2048) and YANGGUANG_DRAFTS_PER_HOUR_PER_ADDRESS (API drafts; default 60); the filing
limits (applications an address may file, engine.service.filing_limits): YANGGUANG_FILINGS_PER_HOUR_PER_ADDRESS
(default 10) and YANGGUANG_FILINGS_PER_DAY_PER_ADDRESS (default 30). A bad value stops the start
with a message naming the variable.
"""

import os
from pathlib import Path

from engine.cli.common import default_db
from engine.service.upload_limits import limits_from_env
from engine.web.app import create_app

try:
    upload_limits = limits_from_env(os.environ)
except ValueError as exc:  # a clean start-up error, not a traceback
    raise SystemExit(f"server: {exc}") from None

app = create_app(
    catalog=Path(os.environ.get("YANGGUANG_CATALOG", Path(__file__).resolve().parent)),
    db=default_db(),  # $YANGGUANG_DB (an SQLite file or a postgresql:// URL), else var/yangguang.db
    sweep_seconds=float(os.environ.get("YANGGUANG_SWEEP_SECONDS", "60")),
    upload_limits=upload_limits,
)
