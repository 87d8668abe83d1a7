"""``yangguang audit verify`` and ``yangguang key create|rotate|public``: checking the case record, and the
center's Ed25519 key that signs its checkpoints (engine.ledger.transparency)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engine.cli import common
from engine.cli.errors import EXIT_OK, EXIT_USER, UserError


def _existing_db(db: str | Path) -> Any:
    """An engine on an existing database this version can read, without migrating it: an audit never
    writes to what it checks (it may be a copy an auditor was given)."""
    from engine.ledger.db import read_only
    from engine.ledger.migrations import MIGRATIONS, schema_version

    engine = common.open_db(db, existing=True)
    with read_only(engine) as conn:
        version = schema_version(conn)
    if version != len(MIGRATIONS):
        raise UserError(
            f"{common.shown(db)} is at schema version {version} but this yangguang reads version {len(MIGRATIONS)}; "
            "verify it with the yangguang version that wrote it, or let this one serve or sweep it once"
        )
    return engine


def _public_keys(values: list[str]) -> dict[str, bytes]:
    """--public-key values: a file holding a key, or the key itself (PEM or base64 of the raw 32 bytes)."""
    from engine.base import keys

    found = {}
    for value in values:
        path = Path(value)
        try:
            text = path.read_text(encoding="utf-8") if path.is_file() else value
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read the public key file {value}: {exc}") from None
        try:
            raw = keys.parse_public_key(text)
        except keys.KeyUnavailable as exc:
            raise UserError(f"--public-key {value}: {exc}") from None
        found[keys.key_id(raw)] = raw
    return found


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from engine.ledger import transparency
    from engine.rules.calendar import WorkCalendar
    from engine.rules.clock import SystemClock
    from engine.service.cases import CaseService
    from engine.supervision import audit

    if bool(args.checkpoints) != bool(args.public_key):
        raise UserError(
            "--checkpoints FILE and --public-key KEY go together: the checkpoints you saved from "
            "/transparency/checkpoints and the center's public key you got from the center itself"
        )
    published: list[transparency.Checkpoint] = []
    if args.checkpoints:
        try:
            published = transparency.parse_published(Path(args.checkpoints).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read {args.checkpoints}: {exc}") from None
        except ValueError as exc:
            raise UserError(f"{args.checkpoints}: {exc}") from None
    public_keys = _public_keys(args.public_key or [])
    engine = _existing_db(args.db)
    cat = common.checked(args.catalog)  # its calendar and center settings count the deadlines the rows must hold
    calendar = WorkCalendar.from_documents([d.data for d in cat.calendars.values()])
    service = CaseService(cat, engine, SystemClock(), calendar)
    from engine.cli.progress import bar

    with bar("verifying the record", "case") as progress:
        report = audit.verify(
            engine, args.case, service=service, published=published, public_keys=public_keys, progress=progress
        )
    sys.stdout.write(report.render())
    return EXIT_OK if report.ok else EXIT_USER


def _key_path(db: str | Path) -> Path:
    from engine.base import keys
    from engine.ledger.db import place

    where = place(db)
    if where is None:
        raise UserError("an in-memory database has no signing key; pass --db PATH or a postgresql:// URL")
    return keys.signing_key_path(where)


def cmd_key_create(args: argparse.Namespace) -> int:
    from engine.base import keys
    from engine.ledger import transparency
    from engine.ledger.migrations import migrate
    from engine.rules.clock import SystemClock

    path = _key_path(args.db)
    if path.exists():
        raise UserError(f"a signing key already exists at {path}; `yangguang key rotate` replaces it")
    engine = common.open_db(args.db)
    migrate(engine)
    key = keys.generate_signing_key()
    with engine.begin() as conn:  # listed and written together: a failed write lists nothing
        kid = transparency.register_key(conn, keys.public_raw(key), SystemClock().now())
        keys.write_signing_key(path, key)
    sys.stdout.write(
        f"signing key {kid} written to {path} (mode 0600; back it up, never publish it)\n"
        f"give supervisors its public key: yangguang key public --db {common.shown(args.db)}\n"
    )
    return EXIT_OK


def cmd_key_rotate(args: argparse.Namespace) -> int:
    from engine.base import keys
    from engine.ledger import transparency
    from engine.ledger.migrations import migrate
    from engine.rules.clock import SystemClock

    path = _key_path(args.db)
    if not path.exists():
        raise UserError(f"no signing key at {path} to rotate; create one with `yangguang key create`")
    try:
        old_public: bytes | None = keys.public_raw(keys.load_signing_key(path))
    except keys.KeyUnavailable:
        old_public = None  # an unreadable key is what a rotation replaces; its public half stays listed if it was
    engine = common.open_db(args.db)
    migrate(engine)
    key = keys.generate_signing_key()
    now = SystemClock().now()
    with engine.begin() as conn:
        # the old key listed first if it never was (e.g. a database restored without it), then retired
        old = transparency.register_key(conn, old_public, now) if old_public is not None else None
        kid = transparency.register_key(conn, keys.public_raw(key), now)
        transparency.retire_other_keys(conn, kid, now)
        keys.write_signing_key(path, key, replace=True)
    was = f"key {old} is retired" if old else "the unreadable key is replaced"
    sys.stdout.write(
        f"signing key {kid} written to {path}; {was} and stays listed, so the checkpoints it signed still verify\n"
        f"give supervisors the new public key: yangguang key public --db {common.shown(args.db)}\n"
    )
    return EXIT_OK


def cmd_key_public(args: argparse.Namespace) -> int:
    import base64

    from engine.base import keys

    try:
        raw = keys.public_raw(keys.load_signing_key(_key_path(args.db)))
    except keys.KeyUnavailable as exc:
        raise UserError(str(exc)) from None
    if args.format == "base64":
        sys.stdout.write(base64.b64encode(raw).decode("ascii") + "\n")
    else:
        sys.stdout.write(keys.public_pem(raw))
    return EXIT_OK


def add_parsers(sub: Any, catalog: argparse.ArgumentParser) -> None:
    au = sub.add_parser("audit", help="check the case record")
    au_sub = au.add_subparsers(dest="audit_command", required=True, metavar="WHAT")
    av = au_sub.add_parser(
        "verify",
        parents=[catalog],
        help="check every case's hash chain and row, deleted cases, and signed checkpoints",
    )
    common.add_db(av, common.DB_HELP + "; a copy works as well")
    av.add_argument("--case", metavar="NUMBER", help="check only this case (its chain and row)")
    av.add_argument(
        "--checkpoints",
        metavar="FILE",
        help="checkpoints saved earlier from /transparency/checkpoints: prove nothing before them changed",
    )
    av.add_argument(
        "--public-key",
        action="append",
        metavar="KEY",
        help="the center's public key (a file or the text: PEM or base64, as `yangguang key public` prints); "
        "repeat it for keys rotated out",
    )
    av.set_defaults(func=cmd_audit_verify)

    key = sub.add_parser("key", help="the center's Ed25519 key that signs checkpoints of the case record")
    key_sub = key.add_subparsers(dest="key_command", required=True, metavar="WHAT")
    kc = key_sub.add_parser("create", help="create the signing key beside the database (mode 0600)")
    common.add_db(kc)
    kc.set_defaults(func=cmd_key_create)
    kr = key_sub.add_parser("rotate", help="replace the signing key; the old public key stays listed")
    common.add_db(kr)
    kr.set_defaults(func=cmd_key_rotate)
    kp = key_sub.add_parser("public", help="print the signing key's public key, to give to supervisors")
    common.add_db(kp)
    kp.add_argument(
        "--format", choices=("pem", "base64"), default="pem", help="PEM (default) or the base64 of the raw 32 bytes"
    )
    kp.set_defaults(func=cmd_key_public)
