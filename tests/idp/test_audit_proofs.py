"""Inclusion and consistency proofs: they check out for real entries and fail once anything in them is altered."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from anchorid.idp.audit.checkpoints import make_checkpoint, platform_public_key
from anchorid.idp.audit.models import AuditEntry
from anchorid.idp.audit.proof_check import check_consistency_proof, check_inclusion_proof
from anchorid.idp.audit.proofs import ProofUnavailable, prove_consistency, prove_inclusion
from anchorid.idp.keystore import PublicKey, keystore_from_settings

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("platform_keys")]


@pytest.fixture
def public_key(log_entries: Callable[[int], list[AuditEntry]]) -> PublicKey:
    log_entries(10)
    make_checkpoint()
    return platform_public_key(keystore_from_settings())


@pytest.fixture
def proof(public_key: PublicKey) -> dict[str, Any]:
    return prove_inclusion(4, public_key)


def test_it_proves_every_entry_under_the_checkpoint(public_key: PublicKey) -> None:
    for seq in range(11):
        result = check_inclusion_proof(prove_inclusion(seq, public_key), public_key)
        assert result.ok, result.message


def test_it_says_when_it_checked_with_the_embedded_key(proof: dict[str, Any]) -> None:
    result = check_inclusion_proof(proof)
    assert result.ok
    assert "embedded in the proof" in result.message


def test_it_rejects_a_proof_whose_entry_was_altered(proof: dict[str, Any], public_key: PublicKey) -> None:
    proof["entry"]["subject"] = "acct_someone_else"
    del proof["entry_hash"]
    result = check_inclusion_proof(proof, public_key)
    assert not result.ok
    assert "audit path does not lead" in result.message


def test_it_rejects_a_proof_with_an_altered_path(proof: dict[str, Any], public_key: PublicKey) -> None:
    proof["inclusion_path"][1] = proof["inclusion_path"][0]
    assert not check_inclusion_proof(proof, public_key).ok


def test_it_rejects_a_proof_pointing_at_another_leaf(proof: dict[str, Any], public_key: PublicKey) -> None:
    proof["leaf_index"] = 5
    assert not check_inclusion_proof(proof, public_key).ok


def test_it_rejects_a_checkpoint_with_a_replaced_root(proof: dict[str, Any], public_key: PublicKey) -> None:
    proof["checkpoint"]["root_hash"] = "q" * 43 + "="
    result = check_inclusion_proof(proof, public_key)
    assert not result.ok
    assert "signature does not verify" in result.message


def test_it_rejects_a_proof_checked_against_another_pinned_key(proof: dict[str, Any]) -> None:
    stranger = ec.generate_private_key(ec.SECP256R1()).public_key()
    result = check_inclusion_proof(proof, stranger)
    assert not result.ok
    assert "not a trusted platform key" in result.message


def test_it_handles_a_malformed_proof(public_key: PublicKey) -> None:
    assert not check_inclusion_proof({"format": "anchorid-audit-inclusion-proof-v1"}, public_key).ok
    assert not check_inclusion_proof(["not", "a", "proof"], public_key).ok


def test_it_says_when_no_checkpoint_covers_the_entry(
    public_key: PublicKey, log_entries: Callable[[int], list[AuditEntry]]
) -> None:
    (late,) = log_entries(1)
    with pytest.raises(ProofUnavailable, match="no checkpoint covers"):
        prove_inclusion(late.seq, public_key)


def test_it_proves_a_later_checkpoint_extends_an_earlier_one(
    public_key: PublicKey, log_entries: Callable[[int], list[AuditEntry]]
) -> None:
    old = make_checkpoint()
    log_entries(5)
    new = make_checkpoint()
    consistency = prove_consistency(old, new)
    assert check_consistency_proof(consistency, public_key).ok
    forged = copy.deepcopy(consistency)
    forged["consistency_path"][0] = forged["consistency_path"][-1]
    assert not check_consistency_proof(forged, public_key).ok
