"""lig: the low-income population sharing gateway."""

__version__ = "0.1.0"
