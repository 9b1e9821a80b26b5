"""AnchorID: an open digital-ID platform for Japanese cities, anchored on the My Number Card."""

__version__ = "0.1.0"
