"""A Merkle tree over the case record, hashed as RFC 9162 (Certificate Transparency 2.0) §2.1 says.

The leaves are the events in the order the database stored them (``events.id``), each leaf's data
the 32 bytes of the event's hash. With ``H`` = SHA-256:

* leaf hash ``H(0x00 || data)``, interior node ``H(0x01 || left || right)``;
* the tree head of ``n`` leaves ``MTH(D[n])`` splits at ``k``, the largest power of two below ``n``;
  the empty tree's head is ``H()``.

A consistency proof (§2.1.4) shows that the first ``m`` leaves of today's tree are exactly the tree a
checkpoint of size ``m`` signed: anything rewritten, deleted, inserted or reordered before ``m`` makes
the proof fail against the old head. :func:`consistency_proof` builds one (§2.1.4.1) and
:func:`verify_consistency` checks one with nothing but the two heads (§2.1.4.2), as an outside
auditor holding only the old checkpoint would.

Every perfect subtree is hashed once (``levels``), so a head or a proof of any size costs
O(log² n) after the O(n) build.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

__all__ = ["MerkleTree", "leaf_data", "verify_consistency"]

EMPTY_ROOT = hashlib.sha256(b"").digest()


def _leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def leaf_data(event_hash: str) -> bytes:
    """A leaf's data: the event hash's 32 bytes (its text, if the stored hash is not 64 hex digits,
    so a damaged row still gives a leaf, one that no honest checkpoint holds)."""
    try:
        data = bytes.fromhex(event_hash)
    except ValueError:
        return event_hash.encode("utf-8", "replace")
    return data if len(data) == 32 else event_hash.encode("utf-8", "replace")


class MerkleTree:
    """The tree over ``leaves`` (each leaf's data, in order)."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.size = len(leaves)
        # levels[i][j]: the head of the perfect subtree of 2**i leaves starting at leaf j * 2**i
        level = [_leaf(d) for d in leaves]
        self.levels: list[list[bytes]] = [level]
        while len(level) > 1:
            level = [_node(level[j], level[j + 1]) for j in range(0, len(level) - 1, 2)]
            self.levels.append(level)

    def _mth(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]); ``start`` is always a multiple of the largest power of two <= the width."""
        width = end - start
        if width == 0:
            return EMPTY_ROOT
        if width & (width - 1) == 0 and start % width == 0:  # a perfect, aligned subtree: stored
            return self.levels[width.bit_length() - 1][start // width]
        k = _split(width)
        return _node(self._mth(start, start + k), self._mth(start + k, end))

    def root(self, size: int | None = None) -> bytes:
        """The tree head of the first ``size`` leaves (all by default)."""
        n = self.size if size is None else size
        if not 0 <= n <= self.size:
            raise ValueError(f"the tree has {self.size} leaves, not {n}")
        return self._mth(0, n)

    def consistency_proof(self, m: int, n: int | None = None) -> list[bytes]:
        """PROOF(m, D[n]) of RFC 9162 §2.1.4.1: the nodes that prove the first ``m`` leaves are a prefix of
        the first ``n`` (all by default); empty when ``m`` is 0 or ``n``."""
        n = self.size if n is None else n
        if not 0 <= m <= n <= self.size:
            raise ValueError(f"no consistency proof from {m} to {n} leaves in a tree of {self.size}")
        if m in (0, n):
            return []
        return self._subproof(m, 0, n, True)

    def _subproof(self, m: int, start: int, end: int, whole: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if whole else [self._mth(start, end)]
        k = _split(n)
        if m <= k:
            return [*self._subproof(m, start, start + k, whole), self._mth(start + k, end)]
        return [*self._subproof(m - k, start + k, end, False), self._mth(start, start + k)]


def verify_consistency(m: int, n: int, first: bytes, second: bytes, proof: Sequence[bytes]) -> bool:
    """Whether ``proof`` shows the tree of ``m`` leaves with head ``first`` is a prefix of the tree of ``n``
    leaves with head ``second`` (RFC 9162 §2.1.4.2, step by step)."""
    if m < 0 or n < m:
        return False
    if m == n:
        return not proof and first == second
    if m == 0:
        return not proof  # every tree extends the empty one
    path = list(proof)
    if not path:  # step 1
        return False
    if m & (m - 1) == 0:  # step 2: an exact power of two is itself a node of the new tree
        path.insert(0, first)
    fn, sn = m - 1, n - 1  # step 3
    while fn & 1:  # step 4
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]  # step 5
    for c in path[1:]:  # step 6
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = _node(c, fr), _node(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = _node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == first and sr == second and sn == 0  # step 7
