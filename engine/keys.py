"""The server's secret key: signs the cookies that let a browser see a case (engine.progress)
and the staff desk's CSRF tokens. Kept in a file beside the database (``secret.key``, mode
0600, in a folder created 0700), created on first start; deleting it signs everyone out of
what it signed."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

KEY_BYTES = 32


def load_or_create(path: Path) -> bytes:
    """The key in ``path``; a new random one is written first when the file does not exist."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # the database's folder: owner only
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
        if len(key) < KEY_BYTES:
            raise ValueError(
                f"{path} holds a key shorter than {KEY_BYTES} bytes; delete it to make a new one"
            ) from None
        return key
    key = secrets.token_bytes(KEY_BYTES)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key.hex())
        fh.flush()
        os.fsync(fh.fileno())
    return key


def sign(key: bytes, *parts: str) -> str:
    """A MAC of ``parts`` (joined unambiguously), 32 hex digits."""
    message = "\x1f".join(parts).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def verify(key: bytes, signature: str, *parts: str) -> bool:
    return hmac.compare_digest(signature, sign(key, *parts))
