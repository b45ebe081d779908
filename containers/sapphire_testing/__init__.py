"""Helpers for the tests of containers/ (not shipped in any image)."""
