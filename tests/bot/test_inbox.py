"""Inbox: an answer not ready in time goes out actively, once; a retry meanwhile does nothing."""
import time

from sqlalchemy import select

from bot.app import create_app
from bot.core.message import Reply
from bot.models import InboundMessage, OutboxMessage
from bot.core.router import Handler
from tests.bot.test_callbacks import aibot_post
from tests.conftest import demo_config, wait_for


class Slow(Handler):
    name = "slow"

    def __init__(self, seconds):
        self.seconds = seconds
        self.calls = 0

    def accepts(self, msg, ctx):
        return True

    def handle(self, msg, ctx, args=""):
        self.calls += 1
        time.sleep(self.seconds)
        return [Reply("慢慢想好了")]


def rows(app, model):
    with app.extensions["fanzha"].sessions() as s:
        return list(s.scalars(select(model)))


def test_late_answer_goes_to_response_url_once(db_url):
    cfg = demo_config(db_url)
    cfg = cfg.model_copy(update={"wecom": cfg.wecom.model_copy(update={"reply_deadline_seconds": 0.2})})
    slow = Slow(0.6)
    app = create_app(cfg, start_sender=False, handlers=[slow])
    payload = {"msgid": "late-1", "chatid": "dongguan_grid", "chattype": "group", "from": {"userid": "res_liu"},
               "response_url": "http://127.0.0.1:9/cgi-bin/aibot/response?response_code=abc", "msgtype": "text",
               "text": {"content": "@反诈哨兵 问个事"}}
    t0 = time.monotonic()
    r, _ = aibot_post(app, payload, int(time.time()), nonce="a")
    assert r.status_code == 200 and r.data == b"" and time.monotonic() - t0 < 0.5
    # WeCom retries while the handler still works: no second run, no reply
    r2, _ = aibot_post(app, payload, int(time.time()), nonce="b")
    assert r2.status_code == 200 and r2.data == b""
    out = wait_for(lambda: rows(app, OutboxMessage), timeout=5)
    assert len(out) == 1 and out[0].channel == "aibot"
    assert out[0].target.endswith("response_code=abc") and out[0].payload["text"] == "慢慢想好了"
    assert wait_for(lambda: rows(app, InboundMessage)[0].replied_via == "outbox")
    assert slow.calls == 1
    app.extensions["fanzha"].stop()


def test_handler_error_is_recorded_and_answers_nothing(db_url):
    class Broken(Handler):
        name = "broken"

        def accepts(self, msg, ctx):
            return True

        def handle(self, msg, ctx, args=""):
            raise RuntimeError("bug with 13812345678 inside")

    app = create_app(demo_config(db_url), start_sender=False, handlers=[Broken()])
    payload = {"msgid": "b-1", "chattype": "single", "from": {"userid": "res_liu"}, "msgtype": "text",
               "text": {"content": "hi"}}
    r, _ = aibot_post(app, payload, int(time.time()))
    assert r.status_code == 200 and r.data == b""
    row = rows(app, InboundMessage)[0]
    assert row.state == "failed" and "138****5678" in row.error and "13812345678" not in row.error


def test_a_read_only_answer_is_recorded_with_its_message_in_one_transaction(db_url):
    from sqlalchemy import event
    from bot.core.message import Message
    app = create_app(demo_config(db_url), start_sender=False)
    svc = app.extensions["fanzha"]
    commits = []
    event.listen(svc.engine, "commit", lambda conn: commits.append(1))
    msg = Message(channel="app", sender="res_liu", text="#帮助", dedupe_key="h-1")
    replies = svc.inbox.receive(msg)
    assert replies and "可用命令" in replies[0].text
    assert len(commits) == 1                       # one round trip to the database per callback
    row = rows(app, InboundMessage)[0]
    assert (row.state, row.handled_by, row.replied_via) == ("done", "help", "passive")
    # WeCom's retry gets the same answer and nothing happens twice
    assert [r.text for r in svc.inbox.receive(msg)] == [r.text for r in replies]
    assert len(rows(app, InboundMessage)) == 1 and rows(app, InboundMessage)[0].deliveries == 2
