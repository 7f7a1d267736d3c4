"""haul: one queue for every media source."""

__version__ = "0.1.0"
