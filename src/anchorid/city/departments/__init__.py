"""The city's departments as receivers of AnchorID's events (issue #5): 市民課 (resident records) and 税務課 (tax).

Each department keeps its own record of a resident, keyed by the city's pairwise ``sub`` and created when the
resident logs in to the city consenting to their address. The city is one SSF receiver (its ``client_id`` is the
stream's audience); one claims-change SET updates every department's record in the receiver's transaction, each
department writing its own history. See docs/providers.md.
"""
