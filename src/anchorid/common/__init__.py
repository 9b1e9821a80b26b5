"""Pieces shared by the three Django servers (settings, server runner). No party's models live here."""
