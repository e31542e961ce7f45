"""Engine construction and the one transaction helper every caller uses."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.util import greenlet_spawn

from db.compiled import DriverStatement
from db.errors import DatabaseConfigError, DatabaseUnavailable
from db.outbox import JOBS_ENQUEUED, NotifySender

SUPPORTED_DRIVERS = {"postgresql+asyncpg": "postgresql", "sqlite+aiosqlite": "sqlite"}
_UNREACHABLE = (OSError, socket.gaierror, TimeoutError, ConnectionError)


# SQLSTATEs that mean "the server is not taking work right now", not "this statement is wrong":
# class 08 connection exceptions; 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now
# (starting up / shutting down); 53300 too many connections (https://www.postgresql.org/docs/current/errcodes-appendix.html).
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")


def _sqlstates(error: BaseException):
    """Every SQLSTATE along an error's chain (SQLAlchemy's wrapper, the adapter's, asyncpg's own)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        code = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(code, str):
            yield code
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__


def _is_connection_error(error: BaseException) -> bool:
    if isinstance(error, _UNREACHABLE):
        return True
    if any(code.startswith(_UNAVAILABLE_SQLSTATES) for code in _sqlstates(error)):
        return True
    if isinstance(error, exc.DBAPIError):
        if error.connection_invalidated:
            return True
        orig = error.orig
        name = type(orig).__name__ if orig is not None else ""
        cause = getattr(orig, "__cause__", None)
        return (
            isinstance(error, (exc.OperationalError, exc.InterfaceError))
            and ("Connection" in name or "connect" in str(error).lower() or isinstance(cause, _UNREACHABLE))
        )
    return False


def describe_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return "<unparseable URL>"


class Database:
    """An async engine and a way to run one transaction on it."""

    def __init__(self, url: str, *, pool_size: int = 20, echo: bool = False) -> None:
        try:
            parsed = make_url(url)
        except exc.ArgumentError as error:
            raise DatabaseConfigError(f"HANDOFF_DATABASE_URL is not a database URL: {url!r}") from error
        driver = parsed.drivername
        if driver not in SUPPORTED_DRIVERS:
            raise DatabaseConfigError(
                f"HANDOFF_DATABASE_URL uses driver {driver!r}; use postgresql+asyncpg://... "
                "or sqlite+aiosqlite:///path.db"
            )
        self.url = url
        self.dialect = SUPPORTED_DRIVERS[driver]
        # Called after a transaction that enqueued jobs commits: local workers' wake-ups, NOTIFY.
        self.on_jobs_committed: list[Callable[[], None]] = []
        if self.dialect == "postgresql":
            self.engine: AsyncEngine = create_async_engine(
                parsed,
                echo=echo,
                pool_size=pool_size,
                max_overflow=0,
                pool_recycle=1800,
                connect_args={"timeout": 5, "server_settings": {"application_name": "handoff"}},
            )
        else:
            self.engine = create_async_engine(parsed, echo=echo, connect_args={"timeout": 30})
            _make_sqlite_serializable(self.engine)
        if self.dialect == "postgresql":
            self.on_jobs_committed.append(NotifySender(self.engine))

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    @asynccontextmanager
    async def transaction(self, *, one_statement: bool = False) -> AsyncIterator[AsyncConnection]:
        """One transaction: commits when the block ends, rolls back on any error.

        `one_statement=True`: the caller promises that each statement it issues is whole by itself
        (a hot path written as one statement). PostgreSQL then runs them in autocommit, which saves
        the BEGIN and COMMIT round trips; SQLite still wraps the block in one transaction.
        Connection-level failures surface as DatabaseUnavailable so callers can answer plainly.
        """
        try:
            async with self._connection(one_statement) as conn:
                conn.info.pop(JOBS_ENQUEUED, None)
                yield conn
                enqueued = conn.info.pop(JOBS_ENQUEUED, False)
        except DatabaseUnavailable:
            raise
        except Exception as error:
            self._raise_unavailable(error)
            raise
        if enqueued:
            self._jobs_committed()

    async def fetch_one(
        self, statement: DriverStatement, params: Mapping[str, Any], *, enqueues: bool = False
    ) -> dict[str, Any] | None:
        """PostgreSQL: run one statement that is whole by itself (its own transaction, in autocommit) on
        a pooled connection's driver, skipping SQLAlchemy's execution path (db/compiled.py). A
        connection that failed is invalidated, as SQLAlchemy would; `enqueues`: the statement adds
        jobs when it returns a row, so workers are woken after it."""
        try:
            fairy = await self.engine.raw_connection()
            try:
                driver = fairy.driver_connection
                record = await driver.fetchrow(statement.sql, *statement.args(params))
            except BaseException as error:
                # Closed, or cancelled mid-statement (the connection's state is unknown): never reused.
                if driver.is_closed() or not isinstance(error, Exception):
                    await greenlet_spawn(fairy.invalidate)
                raise
            finally:
                await greenlet_spawn(fairy.close)
        except Exception as error:
            self._raise_unavailable(error)
            raise
        if record is None:
            return None
        if enqueues:
            self._jobs_committed()
        return statement.row(record)

    def _raise_unavailable(self, error: Exception) -> None:
        """Connection-level failures surface as DatabaseUnavailable so callers can answer plainly."""
        if _is_connection_error(error):
            raise DatabaseUnavailable(
                f"database unreachable ({describe_url(self.url)}): {error.__class__.__name__}: "
                f"{str(error).splitlines()[0] if str(error) else ''}"
            ) from error

    def _jobs_committed(self) -> None:
        for wake in self.on_jobs_committed:
            wake()

    @asynccontextmanager
    async def _connection(self, autocommit: bool) -> AsyncIterator[AsyncConnection]:
        if not (autocommit and self.is_postgresql):
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self.engine.connect() as conn:
            yield await conn.execution_options(isolation_level="AUTOCOMMIT")

    async def dispose(self) -> None:
        await self.engine.dispose()


def _make_sqlite_serializable(engine: AsyncEngine) -> None:
    """SQLite: WAL, a busy timeout, and BEGIN IMMEDIATE so concurrent writers queue instead of failing."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
