"""The platform's tamper-evident audit log (信頼ある記録): a hash chain with signed Merkle checkpoints (RFC 6962).

Entry points: ``chain.append`` (inside the transaction of the change it records), ``checkpoints.make_checkpoint``,
``proofs.prove_inclusion`` / ``proofs.check_inclusion_proof``, ``verify.verify_log``. See docs/audit-log.md.
"""
