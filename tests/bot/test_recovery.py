"""A message whose process died while handling it is taken up again, once: by WeCom's next retry or
by the recovery job; changes it had committed are answered, not made twice."""
import datetime as dt

import pytest
from sqlalchemy import select, update

from bot.app import Service
from bot.core.message import Message
from bot.db import session_scope, utcnow
from bot.models import InboundMessage, OutboxMessage
from bot.warnings.models import Warning, WarningEvent

WARNING_TEXT = "#预警 电话:13812345678 地址:东关村三组 类型:刷单 级别:红"


def linkage_msg(text=WARNING_TEXT, key="m-1") -> Message:
    return Message(channel="aibot", sender="police_duty", text=text[0:], dedupe_key=key, chat_type="group",
                   chat_id="linkage", extra={"response_url": "http://127.0.0.1:9/resp"})


@pytest.fixture
def service(config):
    svc = Service(config)
    yield svc
    svc.stop()
    svc.engine.dispose()


def died_while_handling(svc: Service, msg: Message) -> None:
    """What a process killed mid-handling leaves: the row recorded and processing, its lease running
    out because nobody renews it."""
    svc.inbox._record(msg, None)
    svc.inbox._active.clear()
    with session_scope(svc.sessions) as s:
        s.execute(update(InboundMessage).values(lease_until=utcnow() - dt.timedelta(seconds=1)))


def warnings_made(svc):
    with svc.sessions() as s:
        return list(s.scalars(select(Warning)))


def row(svc):
    with svc.sessions() as s:
        return s.scalars(select(InboundMessage)).one()


def test_the_next_retry_takes_it_up_and_answers_in_place(service):
    msg = linkage_msg("#预警 电话:13812345678 地址:东关村三组 类型:刷单 级别:红")
    died_while_handling(service, msg)
    replies = service.inbox.receive(msg)                    # WeCom's retry reaches a live process
    assert replies and replies[0].text.startswith("已下发 YJ-")
    assert len(warnings_made(service)) == 1
    r = row(service)
    assert (r.state, r.replied_via, r.deliveries) == ("done", "passive", 2)


def test_a_retry_while_the_handler_still_works_does_not_take_it_over(service):
    msg = linkage_msg()
    service.inbox._record(msg, None)                        # alive: its lease is fresh
    assert service.inbox.receive(msg) == []
    assert warnings_made(service) == [] and row(service).state == "processing"


def test_the_recovery_job_takes_it_up_when_no_retry_comes_and_answers_through_the_outbox(service):
    msg = linkage_msg()
    died_while_handling(service, msg)
    assert service.inbox.recover() == 1
    assert service.inbox.recover() == 0                     # once
    assert len(warnings_made(service)) == 1
    r = row(service)
    assert (r.state, r.replied_via) == ("done", "outbox")
    with service.sessions() as s:
        late = s.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key == f"late:aibot:{msg.dedupe_key}")).one()
    assert late.channel == "aibot" and late.payload["text"].startswith("已下发 YJ-")


def test_changes_committed_before_the_crash_are_answered_not_made_again(service):
    create = linkage_msg(key="m-0")
    assert service.inbox.receive(create)[0].text.startswith("已下发")
    number = warnings_made(service)[0].number
    sign = Message(channel="aibot", sender="liaison_chen", text=f"#签收 {number}", dedupe_key="m-2",
                   chat_type="group", chat_id="linkage")
    # the process signs, commits, and dies before it records the message as finished
    service.inbox._record(sign, None)
    name, replies = service.router.dispatch(sign, service.ctx)
    service.inbox._active.clear()
    with session_scope(service.sessions) as s:
        s.execute(update(InboundMessage).where(InboundMessage.dedupe_key == "m-2")
                  .values(lease_until=utcnow() - dt.timedelta(seconds=1)))
    again = service.inbox.receive(sign)                     # the retry
    assert [r.text for r in again] == [r.text for r in replies] and "已签收" in again[0].text
    with service.sessions() as s:
        kinds = [e.kind for e in s.scalars(select(WarningEvent).order_by(WarningEvent.id))]
    assert kinds == ["created", "signed"]                   # signed once


def test_a_message_too_old_to_answer_is_recorded_as_abandoned(service):
    msg = linkage_msg()
    died_while_handling(service, msg)
    with session_scope(service.sessions) as s:
        s.execute(update(InboundMessage).values(received_at=utcnow() - dt.timedelta(days=3)))
    assert service.inbox.recover() == 0
    r = row(service)
    assert r.state == "failed" and "abandoned" in r.error and warnings_made(service) == []
