"""Package data: the real, public JPKI root certificates (see README.md here for their fingerprints)."""
