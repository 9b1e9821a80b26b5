"""The city's departments as receivers of AnchorID's events (issue #5): 市民課 (resident records) and 税務課 (tax).

The departments are their own relying party of AnchorID (client ``city-departments``, asking for the address with
the resident's consent; the portal itself asks for no address) and one SSF receiver (that client is the stream's
audience). Each department keeps its own record of a resident, keyed by the pairwise ``sub`` (the same as the
portal's: the redirect URIs share the city's host) and opened when the resident shares their address at
``/departments/``; one claims-change SET updates every department's record in the receiver's transaction, each
department writing its own history. See docs/providers.md.
"""
