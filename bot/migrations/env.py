"""Alembic environment: the engine comes from the caller (bot.db.upgrade) or DATABASE_URL."""
import os

from alembic import context

from bot.db import Base, make_engine
import bot.models  # noqa: F401  (registers the tables)
from bot.migrations.env_support import include_object

config = context.config
engine = config.attributes.get("engine") or make_engine(os.environ.get("DATABASE_URL", "sqlite:///data/fanzha.db"))

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, include_object=include_object,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
