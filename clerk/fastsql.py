"""Prepared Core statements run straight on the DBAPI cursor of the caller's transaction.

The queue's issue and call run inside the one SQLite write turn every clerk process shares, so
the time spent there decides how many operations a second the office gets. SQLAlchemy's execute
path costs about 0.15 ms of Python per statement (cache key, execution context, result object),
several times what SQLite itself spends on these one-row statements. A `Prepared` statement is
compiled once per dialect by SQLAlchemy; each run then only builds its parameters with the
compiled statement's own `construct_params` and the column types' own bind and result
processors, so values are stored and read back exactly as the ORM stores and reads them. Driver
errors are wrapped as SQLAlchemy's, so callers (and `Database`'s error translation) see the same
exceptions either way.

Only for hot, fixed statements: no expanding IN lists. Columns left out of an INSERT get their
Python-side defaults (a constant, or a function such as the clock) as the ORM would give them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import exc
from sqlalchemy.engine import Connection

Processor = Callable[[Any], Any] | None


class _Plan:
    __slots__ = (
        "binds", "compiled", "dbapi_error", "defaults", "dialect", "names", "order", "results",
        "slots", "sql",
    )  # fmt: skip

    def __init__(self, statement, dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        for name, bind in compiled.binds.items():
            if bind.expanding:
                raise ValueError(f"expanding parameter {name!r} cannot be prepared")
        self.compiled = compiled
        self.dialect = dialect
        self.sql = compiled.string
        self.order: Sequence[str] | None = compiled.positiontup if compiled.positional else None
        binds: dict[str, Processor] = {}
        for bind, name in compiled.bind_names.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                binds[name] = processor
        self.binds = binds
        # columns the INSERT (or UPDATE) sets from their Python-side default when not given:
        # SQLAlchemy's execution context fills these, so the plan does it too
        names = set(self.order or compiled.binds)
        defaults: dict[str, Callable[[], Any]] = {}
        for column in (*compiled.insert_prefetch, *compiled.update_prefetch):
            default = column.default if column in compiled.insert_prefetch else column.onupdate
            if column.key not in names or default is None:
                raise ValueError(f"column {column.key!r} has a default this plan cannot fill")
            if default.is_scalar:
                defaults[column.key] = lambda value=default.arg: value
            elif default.is_callable:
                defaults[column.key] = lambda fill=default.arg: fill(None)
            else:
                raise ValueError(f"column {column.key!r} has a default this plan cannot fill")
        self.defaults = defaults
        # one slot a parameter, in the driver's order: where its value comes from and how it is
        # processed (what `construct_params` and the type processors would do, without their
        # generic checks: these statements run tens of times a second inside the writers' turn)
        self.names = tuple(self.order if self.order is not None else compiled.binds)
        self.slots = tuple(
            (
                name,
                compiled.binds[name].key,
                None if compiled.binds[name].required else compiled.binds[name].value,
                compiled.binds[name].callable,
                defaults.get(name),
                binds.get(name),
            )
            for name in self.names
        )
        columns = getattr(statement, "exported_columns", ())
        self.results: tuple[Processor, ...] = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        )
        self.dbapi_error = dialect.loaded_dbapi.Error

    def parameters(self, values: Mapping[str, Any]):
        out = []
        for name, key, literal, call, fill, processor in self.slots:
            if key in values:
                value = values[key]
            elif name in values:
                value = values[name]
            elif fill is not None:
                value = fill()
            elif call is not None:
                value = call()
            else:
                value = literal
            out.append(value if processor is None else processor(value))
        if self.order is None:
            return dict(zip(self.names, out, strict=True))
        return tuple(out)

    def row(self, raw: Sequence[Any]) -> tuple:
        if not any(self.results):
            return tuple(raw)
        return tuple(p(v) if p is not None else v for p, v in zip(self.results, raw, strict=False))


def connection_of(session) -> Any:
    """The session's connection, looked up once per transaction (the Session's own lookup costs
    more than running a prepared statement); a Core connection is its own."""
    if isinstance(session, Connection):
        return session
    connection = session.info.get("fastsql.connection")
    if connection is None or connection.closed or not connection.in_transaction():
        connection = session.info["fastsql.connection"] = session.connection()
    return connection


class Rows:
    """The few Result methods the hot paths use, over plain tuples."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[tuple], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def all(self) -> list[tuple]:
        return self._rows

    def first(self) -> tuple | None:
        return self._rows[0] if self._rows else None

    def one(self) -> tuple:
        if len(self._rows) != 1:
            raise exc.NoResultFound("no row") if not self._rows else exc.MultipleResultsFound()
        return self._rows[0]

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None


class Prepared:
    """A Core statement, compiled once per dialect, run on a Connection's DBAPI cursor."""

    __slots__ = ("_plans", "statement")

    def __init__(self, statement) -> None:
        self.statement = statement
        self._plans: dict[str, _Plan] = {}

    def _plan(self, dialect) -> _Plan:
        plan = self._plans.get(dialect.name)
        if plan is None:
            plan = self._plans[dialect.name] = _Plan(self.statement, dialect)
        return plan

    def run(self, connection, values: Mapping[str, Any] | None = None) -> Rows:
        """Run inside `connection`'s transaction (a SQLAlchemy Connection, e.g. a Session's)."""
        plan = self._plan(connection.dialect)
        return self._execute(plan, connection, plan.parameters(values or {}), many=False)

    def run_many(self, connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """The same statement for several parameter sets (one executemany)."""
        plan = self._plan(connection.dialect)
        self._execute(plan, connection, [plan.parameters(values) for values in rows], many=True)

    @staticmethod
    def _execute(plan: _Plan, connection, params: Any, *, many: bool) -> Rows:
        cursor = connection.connection.driver_connection.cursor()
        try:
            if many:
                cursor.executemany(plan.sql, params)
                return Rows([], cursor.rowcount)
            cursor.execute(plan.sql, params)
            raw = cursor.fetchall() if cursor.description is not None else []
            return Rows([plan.row(r) for r in raw], cursor.rowcount)
        except plan.dbapi_error as error:
            raise exc.DBAPIError.instance(
                plan.sql, params, error, plan.dbapi_error, dialect=plan.dialect
            ) from error
        finally:
            cursor.close()
