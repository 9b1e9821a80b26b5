"""Self-service for residents (`/me/`): attributes, credentials, connected services, activity, emergency stop,
resumption with the card, account deletion. Logic in ``actions``; views only render and redirect.
"""
