import pytest


@pytest.fixture
def pg_url(pg_db, pg_database_url) -> str:
    """The session's PostgreSQL database, emptied for this test (pg_db truncates it)."""
    return pg_database_url
