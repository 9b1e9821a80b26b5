"""``scripts/deploy-local``: the production shape on one machine (docs/deployment.md, docs/decisions.md D25)."""
