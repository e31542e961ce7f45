"""Errors the store raises; plain Python so callers need not import SQLAlchemy."""


class DatabaseUnavailable(Exception):
    """The database could not be reached or dropped the connection mid-transaction."""


class DatabaseConfigError(Exception):
    """HANDOFF_DATABASE_URL is not a URL we can use."""
