"""Minot device agent: reports inventory and health over the osquery remote API."""

__version__ = "0.1.0"
