"""Three processes started at once on an empty database all come up: one creates the schema while the
others wait for it (an advisory lock on PostgreSQL, a lock file beside SQLite)."""
import os
import subprocess
import sys
import uuid

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.db import current_revision, make_engine
from bot.netutil import free_port
from tests.conftest import PG_URL, ROOT, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def empty_db(tmp_path):
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"fanzha_empty_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_three_processes_on_an_empty_database_all_start(empty_db):
    env = dict(os.environ, DATABASE_URL=empty_db, WECOM_API_BASE="http://127.0.0.1:9", MP_API_BASE="http://127.0.0.1:9",
               LOG_LEVEL="WARNING")
    ports = [free_port() for _ in range(3)]
    procs = [subprocess.Popen([sys.executable, "-m", "bot", "serve", "--port", str(p)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for p in ports]

    def up(port):
        try:
            return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok
        except requests.ConnectionError:
            return False
    try:
        assert wait_for(lambda: all(up(p) for p in ports) or any(p.poll() is not None for p in procs), timeout=60)
        died = [p.communicate()[0][-500:] for p in procs if p.poll() is not None]
        assert died == [] and all(up(p) for p in ports)
        engine = make_engine(empty_db)
        assert current_revision(engine) is not None
        engine.dispose()
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                p.wait(10)
