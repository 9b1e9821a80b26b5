"""RFC 6962 §2.1 hashing and proofs, against the Certificate Transparency reference vectors."""

from __future__ import annotations

import pytest

from anchorid.idp.audit import merkle

# The CT reference leaves and roots for sizes 0..8 (certificate-transparency merkle_tree_test, also in
# transparency-dev/merkle testonly).
LEAVES = [
    bytes.fromhex(h)
    for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip
CONSISTENCY = [
    (2, 8, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip

LEAF_HASHES = [merkle.leaf_hash(d) for d in LEAVES]
MANY = [merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(40)]


@pytest.mark.parametrize("size", range(9))
def test_it_matches_the_ct_root_for_each_size(size: int) -> None:
    assert merkle.root_hash(LEAF_HASHES[:size]).hex() == ROOTS[size]


def test_it_hashes_the_empty_tree_as_sha256_of_nothing() -> None:
    assert merkle.EMPTY_ROOT.hex() == ROOTS[0]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_it_produces_and_accepts_the_ct_audit_paths(index: int, size: int, path: list[str]) -> None:
    proof = merkle.inclusion_proof(LEAF_HASHES[:size], index)
    assert [p.hex() for p in proof] == path
    assert merkle.verify_inclusion(LEAF_HASHES[index], index, size, proof, bytes.fromhex(ROOTS[size]))


@pytest.mark.parametrize(("old", "new", "path"), CONSISTENCY)
def test_it_produces_and_accepts_the_ct_consistency_proofs(old: int, new: int, path: list[str]) -> None:
    proof = merkle.consistency_proof(LEAF_HASHES[:new], old)
    assert [p.hex() for p in proof] == path
    assert merkle.verify_consistency(old, new, bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new]), proof)


def test_it_verifies_every_inclusion_proof_in_every_tree_up_to_40() -> None:
    for size in range(1, len(MANY) + 1):
        root = merkle.root_hash(MANY[:size])
        for index in range(size):
            assert merkle.verify_inclusion(MANY[index], index, size, merkle.inclusion_proof(MANY[:size], index), root)


def test_it_verifies_every_consistency_proof_up_to_40() -> None:
    for new in range(len(MANY) + 1):
        for old in range(new + 1):
            proof = merkle.consistency_proof(MANY[:new], old)
            roots = merkle.root_hash(MANY[:old]), merkle.root_hash(MANY[:new])
            assert merkle.verify_consistency(old, new, *roots, proof)


def test_it_rejects_tampered_inclusion_proofs() -> None:
    size, index = 13, 6
    proof = merkle.inclusion_proof(MANY[:size], index)
    root = merkle.root_hash(MANY[:size])
    flipped = [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]]
    assert not merkle.verify_inclusion(MANY[index], index, size, flipped, root)
    assert not merkle.verify_inclusion(MANY[index], index + 1, size, proof, root)
    assert not merkle.verify_inclusion(MANY[index], index, size * 2, proof, root)
    assert not merkle.verify_inclusion(MANY[index + 1], index, size, proof, root)
    assert not merkle.verify_inclusion(MANY[index], index, size, proof[:-1], root)
    assert not merkle.verify_inclusion(MANY[index], index, size, [*proof, bytes(32)], root)
    assert not merkle.verify_inclusion(MANY[index], size, size, proof, root)


def test_it_rejects_a_consistency_proof_for_a_rewritten_history() -> None:
    rewritten = [merkle.leaf_hash(b"forged"), *MANY[1:20]]
    proof = merkle.consistency_proof(rewritten, 7)
    old_root = merkle.root_hash(MANY[:7])
    assert not merkle.verify_consistency(7, 20, old_root, merkle.root_hash(rewritten), proof)
    assert not merkle.verify_consistency(7, 20, old_root, merkle.root_hash(MANY[:20]), [])


def test_it_computes_the_same_roots_incrementally() -> None:
    tree = merkle.CompactRange()
    assert tree.root() == merkle.EMPTY_ROOT
    for size, leaf in enumerate(MANY, start=1):
        tree.append(leaf)
        assert tree.root() == merkle.root_hash(MANY[:size])
