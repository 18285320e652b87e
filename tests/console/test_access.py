"""Log-in, sessions, CSRF and roles in the console."""
from __future__ import annotations

import re

from sqlalchemy import select

from bot.console_models import ConsoleAction
from tests.conftest import demo_config
from tests.console.conftest import Console, csrf


def test_every_page_needs_a_log_in_and_says_where_to_go(console):
    c = console.client()
    r = c.get("/console/warnings")
    assert r.status_code == 302 and "/console/login" in r.headers["Location"]
    assert "next=/console/warnings" in r.headers["Location"]


def test_the_demo_log_in_lists_staff_only_and_records_the_log_in(console):
    page = console.client().get("/console/login").data.decode()
    assert "演示登录" in page and 'data-userid="police_duty"' in page and 'data-userid="leader_zheng"' in page
    assert 'data-userid="res_liu"' not in page           # residents have no console
    c = console.as_("police_duty")
    assert "反诈中心值班员" in c.get("/console/warnings").data.decode()
    with console.service.sessions() as s:
        assert [(a.userid, a.action) for a in s.scalars(select(ConsoleAction))] == [("police_duty", "login")]


def test_a_resident_cannot_log_in_even_by_forging_the_form(console):
    c = console.client()
    c.get("/console/login")
    r = c.post("/console/login/local", data={"userid": "res_liu", "csrf_token": csrf(c)})
    assert r.status_code == 403 and "不在配置的工作人员名单中" in r.data.decode()
    assert c.get("/console/warnings").status_code == 302


def test_a_form_without_the_session_token_is_refused(console):
    c = console.as_("police_duty")
    r = c.post("/console/warnings/new", data={"phone": "13812345678", "place": "东关村"})
    assert r.status_code == 400 and "CSRF" in r.data.decode()
    r = c.post("/console/warnings/new", data={"phone": "13812345678", "place": "东关村", "csrf_token": "forged"})
    assert r.status_code == 400


def test_local_log_in_is_refused_when_the_console_logs_in_through_wecom(db_url):
    console = Console(demo_config(db_url, FANZHA_CONSOLE_SECRET="s" * 40))    # login: wecom, the default
    c = console.client()
    page = c.get("/console/login").data.decode()
    assert "企业微信登录" in page and "演示登录" not in page
    r = c.post("/console/login/local", data={"userid": "admin_gao", "csrf_token": csrf(c)})
    assert r.status_code == 403 and c.get("/console/warnings").status_code == 302


def test_without_a_secret_the_console_says_what_to_set_and_the_bot_still_answers(db_url):
    console = Console(demo_config(db_url))      # no FANZHA_CONSOLE_SECRET
    r = console.client().get("/console/login")
    assert r.status_code == 503 and "FANZHA_CONSOLE_SECRET" in r.data.decode()
    assert console.client().get("/healthz").status_code == 200


def test_a_short_secret_stops_start_up_naming_the_key(db_url, tmp_path):
    import pytest
    from bot.config import ConfigError
    with pytest.raises(ConfigError) as e:
        demo_config(db_url, FANZHA_CONSOLE_SECRET="short")
    assert "console.secret" in str(e.value) and "32" in str(e.value)


def test_roles_decide_what_each_person_may_do(console):
    leader = console.as_("leader_zheng")
    assert leader.get("/console/warnings").status_code == 200
    r = leader.get("/console/warnings/new")
    assert r.status_code == 403 and "局领导" in r.data.decode() and "需要" in r.data.decode()
    propaganda = console.as_("propaganda_yang")
    r = console.post(propaganda, "/console/warnings/new", {"phone": "13812345678", "place": "东关村"})
    assert r.status_code == 403


def test_a_session_ends_after_its_hours(console):
    c = console.as_("police_duty")
    with c.session_transaction() as s:
        s["until"] = 1.0                   # long past
    assert c.get("/console/warnings").status_code == 302


def test_the_next_page_after_log_in_stays_inside_the_console(console):
    c = console.client()
    c.get("/console/login?next=https://evil.example/")
    r = c.post("/console/login/local", data={"userid": "police_duty", "csrf_token": csrf(c)})
    assert r.headers["Location"].endswith("/console/")
    c = console.client()
    c.get("/console/login?next=/console/warnings/new")
    r = c.post("/console/login/local", data={"userid": "police_duty", "csrf_token": csrf(c)})
    assert r.headers["Location"].endswith("/console/warnings/new")
    assert re.search(r"/console/", r.headers["Location"])
