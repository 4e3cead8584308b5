"""The version of databay (kept here so that any module can know it without importing the package)."""

__version__ = "1.0.0a1"
