"""Heavy handlers (reading a picture): answered at once with their pending word, the work in a small
pool of its own whose line is bounded (past it: their busy word, recorded, nothing lost), and the
result through the outbox; a heavy message whose process died is taken up again in that pool."""
import threading

import pytest
from sqlalchemy import select

from bot.app import Service
from bot.core.message import Message, Reply
from bot.core.router import Handler
from bot.models import InboundMessage, OutboxMessage
from tests.bot.test_recovery import died_while_handling
from tests.conftest import wait_for


class Gate(Handler):
    """Heavy work that waits until the test opens the gate."""
    name = "gate"
    heavy = True
    pending = "正在看"
    busy = "太多了"

    def __init__(self):
        self.open = threading.Event()
        self.calls = 0

    def accepts(self, msg, ctx):
        return msg.text.startswith("图")

    def handle(self, msg, ctx, args=""):
        self.calls += 1
        assert self.open.wait(20)
        return [Reply(f"看完了{msg.dedupe_key}")]


def picture_msg(key: str) -> Message:
    return Message(channel="app", sender="res_liu", text="图", dedupe_key=key)


@pytest.fixture
def gate_service(config):
    config = config.model_copy(update={"pictures": config.pictures.model_copy(update={"workers": 1, "queue": 1})})
    gate = Gate()
    svc = Service(config, handlers=[gate])
    yield svc, gate
    gate.open.set()
    svc.stop()


def rows(svc, model):
    with svc.sessions() as s:
        return {r.dedupe_key: r for r in s.scalars(select(model))}


def test_heavy_work_is_answered_at_once_then_through_the_outbox_and_a_full_line_says_busy(gate_service):
    svc, gate = gate_service
    answers = [svc.inbox.receive(picture_msg(f"p-{i}")) for i in range(3)]
    assert [[r.text for r in a] for a in answers] == [["正在看"], ["正在看"], ["太多了"]]
    busy = rows(svc, InboundMessage)["p-2"]
    assert (busy.state, busy.handled_by, busy.replied_via) == ("done", "gate", "passive")
    gate.open.set()
    late = wait_for(lambda: (lambda r: r if len(r) == 2 else None)(rows(svc, OutboxMessage)), timeout=10)
    assert sorted(r.payload["text"] for r in late.values()) == ["看完了p-0", "看完了p-1"]
    done = wait_for(lambda: all(r.state == "done" for r in rows(svc, InboundMessage).values()))
    assert done and gate.calls == 2
    assert {k: r.replied_via for k, r in rows(svc, InboundMessage).items()} == \
        {"p-0": "outbox", "p-1": "outbox", "p-2": "passive"}


def test_text_is_answered_while_the_heavy_pool_is_busy(gate_service):
    svc, gate = gate_service
    svc.inbox.receive(picture_msg("p-0"))
    reply = svc.inbox.receive(Message(channel="app", sender="res_sun", text="有人让我刷单返利靠谱吗", dedupe_key="t-1"))
    assert reply and "刷单" in reply[0].text


def test_a_heavy_message_whose_process_died_is_read_again_in_the_heavy_pool(gate_service):
    svc, gate = gate_service
    died_while_handling(svc, picture_msg("p-9"))
    gate.open.set()
    assert svc.inbox.recover() == 1
    assert wait_for(lambda: rows(svc, InboundMessage)["p-9"].state == "done", timeout=10)
    assert [r.payload["text"] for r in rows(svc, OutboxMessage).values()] == ["看完了p-9"]
    assert svc.inbox.recover() == 0 and gate.calls == 1
