"""A hot statement compiled once and run on the pool's own asyncpg connection.

SQLAlchemy's execution path (parameter dicts, execution context, result object, the greenlet hop)
costs more client CPU than the database spends on a small statement. For a statement that runs
thousands of times a second (the winning claim), DriverStatement keeps SQLAlchemy as the one
definition of the SQL and of each column's type handling (the tables' own bind and result
processors), and hands asyncpg only the compiled text and positional values. asyncpg prepares it
once per connection. Database.fetch_one runs it on a connection of the engine's own pool.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable

Processor = Callable[[Any], Any] | None


class DriverStatement:
    """`statement` (a SELECT, or DML with RETURNING) compiled for asyncpg."""

    def __init__(self, statement: Executable, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        if compiled.positiontup is None:
            raise ValueError("DriverStatement needs a positional paramstyle (asyncpg's)")
        self.sql = compiled.string
        self._binds: list[tuple[str, Processor, Any, bool]] = []
        for name in compiled.positiontup:
            bind = compiled.binds[name]
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            fixed = not bind.required and bind.callable is None  # a literal the statement carries
            self._binds.append((name, processor, bind.value, fixed))
        self._columns: list[tuple[str, Processor]] = [
            (column.key, column.type.dialect_impl(dialect).result_processor(dialect, None))
            for column in statement.selected_columns  # type: ignore[attr-defined]
        ]

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        out = []
        for name, processor, literal, fixed in self._binds:
            value = literal if fixed else params[name]
            out.append(value if processor is None else processor(value))
        return out

    def row(self, record: Any) -> dict[str, Any]:
        return {
            key: value if processor is None else processor(value)
            for (key, processor), value in zip(self._columns, record)
        }
