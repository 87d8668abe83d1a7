"""The server's secret key: signs the cookies that let a browser see a case (engine.web.progress)
and the staff desk's CSRF tokens. The server keeps it in its database, so that every server
process of one database signs alike (engine.ledger.server_key); an older server kept it in a
file beside the database (``secret.key``), which :func:`read_existing` reads once to adopt it.
:func:`load_or_create` keeps a key in a file of its own (mode 0600, in a folder created 0700)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Any

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


def read_existing(path: Path) -> bytes | None:
    """The key in the file ``path`` if there is one (None when the file is missing or too short to be one)."""
    try:
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None
    return key if len(key) >= KEY_BYTES else None


def sign(key: bytes, *parts: str) -> str:
    """A MAC of ``parts`` (joined unambiguously), 32 hex digits."""
    message = "\x1f".join(parts).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def verify(key: bytes, signature: str, *parts: str) -> bool:
    # bytes, not str: compare_digest refuses text with non-ASCII characters (a cookie may hold any)
    return hmac.compare_digest(signature.encode("utf-8", "surrogatepass"), sign(key, *parts).encode())


# ---------------------------------------------------------------------------------------
# The center's signing key (Ed25519): signs the checkpoints of the case record (engine.ledger.transparency).
# The private key is a PEM file (PKCS#8) beside the database, mode 0600, never in the database; its
# public half is published with the checkpoints, and named by a key id.
# ---------------------------------------------------------------------------------------


class KeyUnavailable(Exception):
    """The signing key or a public key cannot be used; the message says what to do."""


def signing_key_path(db: Path) -> Path:
    """Where the signing key of the database ``db`` lives: ``<db name without suffix>.checkpoint.key`` beside it."""
    return db.with_name(f"{db.stem}.checkpoint.key")


def _write_private(path: Path, key: Any, exclusive: bool) -> None:
    from cryptography.hazmat.primitives import serialization

    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    target = path if exclusive else path.with_name(path.name + ".new")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL if exclusive else os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(target, flags, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(target, 0o600)  # O_CREAT's mode is narrowed by the umask only; an existing .new keeps its own
    if not exclusive:
        os.replace(target, path)  # the old key is gone at once, never half-written


def generate_signing_key() -> Any:
    """A new Ed25519 private key (in memory: :func:`write_signing_key` keeps it)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate()


def write_signing_key(path: Path, key: Any, replace: bool = False) -> None:
    """Write ``key`` to ``path`` (PEM, 0600). Without ``replace`` an existing file is an error
    (FileExistsError); with it the file is replaced atomically (a key rotation: the old key is gone)."""
    _write_private(path, key, exclusive=not replace)


def load_signing_key(path: Path) -> Any:
    """The Ed25519 private key in ``path``; KeyUnavailable saying what to do when it cannot be used."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        raise KeyUnavailable(f"no signing key at {path}; create one with `yangguang key create`") from None
    except OSError as exc:
        raise KeyUnavailable(f"cannot read the signing key {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise KeyUnavailable(f"{path} is not an unencrypted PEM private key; restore it from a backup") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyUnavailable(f"{path} is not an Ed25519 key; restore it from a backup")
    return key


def public_raw(private_key: Any) -> bytes:
    """The 32 bytes of a private key's public half."""
    from cryptography.hazmat.primitives import serialization

    raw: bytes = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw


def key_id(public: bytes) -> str:
    """A public key's id: the first 16 hex digits of SHA-256 of its 32 raw bytes."""
    return hashlib.sha256(public).hexdigest()[:16]


def public_pem(public: bytes) -> str:
    """A raw public key as a PEM ``PUBLIC KEY`` block (SubjectPublicKeyInfo, as ``openssl pkey -pubout`` writes)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = Ed25519PublicKey.from_public_bytes(public)
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def parse_public_key(text: str) -> bytes:
    """A public key given as PEM or as the base64 of its 32 raw bytes, as raw bytes (KeyUnavailable if neither)."""
    import base64
    import binascii

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    stripped = text.strip()
    if stripped.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(stripped.encode("ascii", "replace"))
        except (ValueError, TypeError):
            raise KeyUnavailable("the public key is not a readable PEM PUBLIC KEY block") from None
        if not isinstance(key, Ed25519PublicKey):
            raise KeyUnavailable("the public key is not an Ed25519 key")
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    try:
        raw = base64.b64decode(stripped, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise KeyUnavailable(
            "a public key is a PEM PUBLIC KEY block or the base64 of 32 bytes (`yangguang key public`)"
        )
    return raw


def sign_ed25519(private_key: Any, message: bytes) -> bytes:
    signature: bytes = private_key.sign(message)
    return signature


def verify_ed25519(public: bytes, signature: bytes, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
