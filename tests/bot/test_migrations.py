"""Migrations: they build exactly the schema the models describe, and go down and up again."""
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import bot.models  # noqa: F401
from bot.db import Base, current_revision, make_engine, upgrade


def diff(engine):
    from bot.migrations.env_support import include_object
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": include_object})
        return compare_metadata(ctx, Base.metadata)


def test_migrations_match_the_models(db_url):
    engine = make_engine(db_url)
    assert diff(engine) == []
    engine.dispose()


def test_downgrade_to_nothing_and_up_again(db_url):
    from alembic import command
    from bot.db import _alembic_config
    engine = make_engine(db_url)
    command.downgrade(_alembic_config(engine), "base")
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) is not None and diff(engine) == []
    engine.dispose()
