"""Database engine, sessions and migrations (SQLite by default, PostgreSQL in production)."""
from __future__ import annotations

import datetime as dt
import fcntl
import threading
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import DateTime, create_engine, event, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, sessionmaker
from sqlalchemy.types import TypeDecorator

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class Base(DeclarativeBase):
    pass


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


def make_engine(url: str, base_dir: str | Path | None = None) -> Engine:
    """Create an engine; a relative SQLite path resolves against base_dir and its folder is created."""
    u = make_url(url)
    # a database error quotes its statement; its parameters (victims' names and numbers) stay out of it
    kwargs: dict = {"future": True, "hide_parameters": True}
    if u.get_backend_name() == "sqlite":
        db = u.database
        if db and db != ":memory:" and not Path(db).is_absolute():
            db = str((Path(base_dir or ".") / db).resolve())
            u = u.set(database=db)
        if db and db != ":memory:":
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        # pool_recycle rather than pre_ping: a ping per checkout costs a round trip on the hot path
        kwargs.update(pool_recycle=1800, pool_size=10, max_overflow=20)
    engine = create_engine(u, **kwargs)
    # SQLite has one writer at a time and its busy handler sleeps in growing steps (up to
    # 100 ms) while it waits; writers of one process queue on this lock instead.
    engine.write_lock = threading.RLock() if u.get_backend_name() == "sqlite" else None
    if u.get_backend_name() == "sqlite":
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            # WAL lets the web threads read while the sender writes; busy_timeout waits for a lock
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
    return engine


_INSERT_CACHE: dict = {}


def insert_unless_exists(conn, model, values: dict, unique: list[str]):
    """INSERT … ON CONFLICT DO NOTHING RETURNING the primary key; None when the row existed.

    `conn` is a Session or a Connection. RETURNING, not rowcount: rowcount of this statement
    is not reliable on every driver. The statement is built once per table and dialect (it
    sits on the callback hot path) and the values go in as parameters.
    """
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert
    dialect = conn.bind.dialect.name if hasattr(conn, "bind") and conn.bind is not None else conn.dialect.name
    key = (model, tuple(unique), tuple(sorted(values)), dialect)
    stmt = _INSERT_CACHE.get(key)
    if stmt is None:
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        table = model.__table__
        pk = list(table.primary_key.columns)[0]
        stmt = _INSERT_CACHE[key] = (insert(table).on_conflict_do_nothing(index_elements=unique).returning(pk))
    return conn.execute(stmt, values).scalar()


def upsert(session, model, values: dict, key: list[str]) -> None:
    """INSERT … ON CONFLICT (key) DO UPDATE: two processes writing the same row at once both
    succeed (Session.merge reads then inserts, and the second insert would fail)."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(model.__table__).values(**values)
    stmt = stmt.on_conflict_do_update(index_elements=key,
                                      set_={k: stmt.excluded[k] for k in values if k not in key})
    session.execute(stmt)


def column_limit(model, field: str) -> int | None:
    """The most characters a String column of `model` holds (None for Text and other types)."""
    return getattr(model.__table__.c[field].type, "length", None)


def too_long(model, values: dict) -> list[tuple[str, int]]:
    """(field, limit) of each value longer than its column: checked before writing, so a value that
    fits SQLite but not PostgreSQL is refused with a reason on both, never lost in a failed insert."""
    out = []
    for field, value in values.items():
        limit = column_limit(model, field)
        if limit is not None and isinstance(value, str) and len(value) > limit:
            out.append((field, limit))
    return out


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False, future=True)


@contextmanager
def _write_lock(engine: Engine):
    lock = getattr(engine, "write_lock", None)
    if lock is None:
        yield
    else:
        with lock:
            yield


@contextmanager
def session_scope(factory: sessionmaker):
    """A session that commits on success and rolls back on error (a write transaction)."""
    with _write_lock(factory.kw["bind"]):
        s = factory()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()


@contextmanager
def begin(engine: Engine):
    """A Core connection in a write transaction (committed on success)."""
    with _write_lock(engine), engine.begin() as conn:
        yield conn



def _alembic_config(engine: Engine):
    from alembic.config import Config as AlembicConfig
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


# any number the processes of this service agree on: PostgreSQL's advisory lock for migrations
_MIGRATION_LOCK_KEY = 0x66616E7A   # "fanz"


@contextmanager
def migration_lock(engine: Engine):
    """One process at a time migrates (processes started together on an empty database would each
    try to create the tables, and all but one would die): PostgreSQL's advisory lock, or an exclusive
    lock on a file beside the SQLite database. The others wait, then find the schema made."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_advisory_lock({_MIGRATION_LOCK_KEY})")
            try:
                yield
            finally:
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_MIGRATION_LOCK_KEY})")
                conn.commit()
        return
    db = engine.url.database
    if engine.dialect.name != "sqlite" or not db or db == ":memory:":
        yield
        return
    with open(f"{db}.migrate.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Apply the Alembic migrations up to `revision` (default: every head), one process at a time."""
    from alembic import command
    with migration_lock(engine):
        command.upgrade(_alembic_config(engine), revision)


def current_heads(engine: Engine) -> set[str]:
    from alembic.runtime.migration import MigrationContext
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def current_revision(engine: Engine) -> str | None:
    """The database's revision(s), comma-separated; None when it has none."""
    return ",".join(sorted(current_heads(engine))) or None


def is_empty(engine: Engine) -> bool:
    return not inspect(engine).get_table_names()


class SchemaError(Exception):
    pass


def ensure_schema(engine: Engine) -> None:
    """Create the schema on an empty database; refuse to run on an outdated one.

    Upgrading a database that holds data is left to `python -m bot db upgrade`. Processes started
    together on an empty database take turns (migration_lock): one creates the schema, the others
    find it made.
    """
    from alembic import command
    from alembic.script import ScriptDirectory
    heads = set(ScriptDirectory.from_config(_alembic_config(engine)).get_heads())
    if not is_empty(engine) and current_heads(engine) == heads:
        return
    with migration_lock(engine):
        if is_empty(engine):
            command.upgrade(_alembic_config(engine), "heads")
            return
        have = current_heads(engine)
    if have != heads:
        raise SchemaError(f"database schema is at {','.join(sorted(have)) or 'no revision'}, the code needs "
                          f"{','.join(sorted(heads))}: run `python -m bot db upgrade`")
