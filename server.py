"""ASGI entry point: ``uvicorn server:app`` (``make run`` uses ``yangguang serve``, which does the same).

Settings come from the environment: YANGGUANG_CATALOG (default: this repository's
reference catalogue), YANGGUANG_DB (an SQLite file or a postgresql:// URL; default: var/yangguang.db),
YANGGUANG_SWEEP_SECONDS (how often the timed rules and supervision lights run; default 60, 0 = off),
YANGGUANG_RELOAD_SECONDS (live reload; default 2, 0 = off) and YANGGUANG_UPLOADS (the folder of
uploaded files; default: uploads/ beside an SQLite file, else var/uploads; several server
processes must all see the same folder).

The per-address upload limits (one address may be a whole office behind a proxy or an intranet
NAT address, so a center may raise them), whole numbers of at least 1:
YANGGUANG_UPLOAD_FILES_PER_MINUTE_PER_ADDRESS (default 60), YANGGUANG_UPLOAD_MB_PER_DAY_PER_ADDRESS
(default 2048) and YANGGUANG_DRAFTS_PER_HOUR_PER_ADDRESS (API drafts; default 60); the filing
limits (applications an address may file, engine.service.filing_limits): YANGGUANG_FILINGS_PER_HOUR_PER_ADDRESS
(default 10) and YANGGUANG_FILINGS_PER_DAY_PER_ADDRESS (default 30). A bad value stops the start
with a message naming the variable.
"""

from pathlib import Path

from engine.web.app import from_env

try:  # the settings above, read by engine.web.app.from_env (as every worker of `yangguang serve --workers N` does)
    app = from_env(default_catalog=Path(__file__).resolve().parent)
except ValueError as exc:  # a clean start-up error, not a traceback
    raise SystemExit(f"server: {exc}") from None
