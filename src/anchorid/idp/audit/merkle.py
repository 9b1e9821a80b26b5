"""Merkle Hash Trees as in Certificate Transparency: RFC 6962 §2.1 (with the verification algorithms of RFC 9162).

- Leaf hash: ``SHA-256(0x00 || leaf data)``; interior node: ``SHA-256(0x01 || left || right)`` (RFC 6962 §2.1).
- ``MTH`` of n > 1 leaves splits at k, the largest power of two smaller than n (RFC 6962 §2.1); the empty
  tree's hash is ``SHA-256("")``.
- ``PATH(m, D[n])`` is the audit path of leaf m (RFC 6962 §2.1.1), checked with RFC 9162 §2.1.3.2.
- ``PROOF(m, D[n])`` is the consistency proof between sizes m and n (RFC 6962 §2.1.2), checked with
  RFC 9162 §2.1.4.2.

Hashes are raw 32-byte values. Functions taking ``leaves`` take the leaf *hashes* in order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 §2.1: ``MTH({d(0)}) = SHA-256(0x00 || d(0))``."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 §2.1: ``SHA-256(0x01 || MTH(left) || MTH(right))``."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1), RFC 6962 §2.1."""
    return 1 << ((n - 1).bit_length() - 1)


def root_hash(leaves: Sequence[bytes]) -> bytes:
    """The Merkle Tree Hash ``MTH(D[n])`` of RFC 6962 §2.1 over the given leaf hashes."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = _split(n)
    return node_hash(root_hash(leaves[:k]), root_hash(leaves[k:]))


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path ``PATH(m, D[n])`` of RFC 6962 §2.1.1 for leaf ``index`` of the tree over ``leaves``."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ValueError(f"leaf index {index} is outside a tree of size {n}")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [*inclusion_proof(leaves[:k], index), root_hash(leaves[k:])]
    return [*inclusion_proof(leaves[k:], index - k), root_hash(leaves[:k])]


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """The consistency proof ``PROOF(m, D[n])`` of RFC 6962 §2.1.2 from size ``old_size`` to ``len(leaves)``."""
    n = len(leaves)
    if not 0 <= old_size <= n:
        raise ValueError(f"old size {old_size} is outside 0..{n}")
    if old_size in (0, n):
        return []
    return _subproof(leaves, old_size, complete=True)


def _subproof(leaves: Sequence[bytes], m: int, complete: bool) -> list[bytes]:
    """``SUBPROOF(m, D[n], b)`` of RFC 6962 §2.1.2."""
    n = len(leaves)
    if m == n:
        return [] if complete else [root_hash(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(leaves[:k], m, complete), root_hash(leaves[k:])]
    return [*_subproof(leaves[k:], m - k, False), root_hash(leaves[:k])]


def root_from_inclusion_proof(leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes]) -> bytes:
    """The root an inclusion proof leads to, per RFC 9162 §2.1.3.2; raises ``ValueError`` if malformed."""
    if not 0 <= index < tree_size:
        raise ValueError(f"leaf index {index} is outside a tree of size {tree_size}")
    if len(leaf) != HASH_SIZE or any(len(p) != HASH_SIZE for p in proof):
        raise ValueError("every hash must be 32 bytes")
    fn, sn = index, tree_size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            raise ValueError("the proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("the proof is shorter than the tree is deep")
    return r


def verify_inclusion(leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """True when ``proof`` shows leaf hash ``leaf`` at ``index`` in the tree of ``tree_size`` with ``root``."""
    try:
        return root_from_inclusion_proof(leaf, index, tree_size, proof) == root
    except ValueError:
        return False


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: true when ``proof`` shows the tree of ``old_size`` is a prefix of the one of ``new_size``."""
    if not 0 <= old_size <= new_size:
        return False
    if any(len(p) != HASH_SIZE for p in proof):
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    # If the old tree is a complete subtree, its root is the first node of the path (RFC 9162 §2.1.4.2 step 1).
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


class CompactRange:
    """The roots of the perfect subtrees covering leaves ``[0, size)``: O(log n) memory, RFC 6962 §2.1 roots.

    Lets a verifier stream millions of entries and compare the root at every checkpoint size without
    holding the leaves.
    """

    def __init__(self) -> None:
        self.size = 0
        self._subtrees: list[bytes] = []  # left to right, strictly decreasing sizes (the set bits of size)

    def append(self, leaf: bytes) -> None:
        node = leaf
        size = self.size
        while size & 1:
            node = node_hash(self._subtrees.pop(), node)
            size >>= 1
        self._subtrees.append(node)
        self.size += 1

    def root(self) -> bytes:
        """``MTH`` of the leaves so far: the subtree roots folded from the right."""
        if not self._subtrees:
            return EMPTY_ROOT
        node = self._subtrees[-1]
        for left in reversed(self._subtrees[:-1]):
            node = node_hash(left, node)
        return node
