"""Serving aiohttp apps on 127.0.0.1 for tests (the same helper `handoff demo` uses)."""

from standins.http import serve

__all__ = ["serve"]
