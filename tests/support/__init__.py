"""Helpers more than one test suite uses (imported as ``support.*``: pytest puts ``tests/`` on the path)."""
