"""Children and their guardians (issue #18 §1, docs/guardians.md).

A child under 15 has a card with the user-authentication certificate alone (no attributes on it). The child's card
proves the card; a guardian with a full account establishes the relationship, confirmed at J-LIS (the register's
guardian relation, asked with a request the guardian signs with their own card) or at the city counter by staff
(recorded with what was checked). The child's account takes its four attributes from the register through the
guardian (``verified_claims`` says so); the guardian approves each service and claim, sees the activity and can
stop the account; the child logs in with a passkey. At 15 the watcher re-anchors the account on the new signature
certificate (history kept) and the guardian's role narrows; at 18 it ends.
"""
