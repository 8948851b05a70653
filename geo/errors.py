"""Exceptions raised by Hotspot Atlas; each message names the input and the fix."""

from __future__ import annotations

__all__ = ["CRSMismatchError", "GeoInputError", "SchemaError", "WorkspaceError"]


class GeoInputError(ValueError):
    """Input that cannot be used: a file, a column, a value. The message says the fix."""


class WorkspaceError(GeoInputError):
    """A workspace file key is missing or has a value that is not allowed."""


class SchemaError(GeoInputError):
    """A file or frame lacks a required column."""


class CRSMismatchError(GeoInputError):
    """Two layers use different coordinate reference systems."""
