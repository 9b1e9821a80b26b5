"""Card onboarding (初回登録): a one-time challenge signed by the My Number Card, verified, one account per person.

docs/onboarding.md describes the flow, every check and refusal, and the one-person rule.
"""
