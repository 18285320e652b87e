"""Outbox: byte-limit splitting, dedupe keys, and groups the bot cannot reach."""
import pytest
from sqlalchemy import func, select

from bot.db import make_engine, session_factory
from bot.models import OutboxMessage
from bot.outbox import Outbox, Unreachable, split_utf8


@pytest.mark.parametrize("limit", [7, 10, 2048, 4096])
def test_split_never_breaks_a_character_and_keeps_the_text(limit):
    text = "一二三四五六七八九十\n" * 700 + "abc😀尾"
    parts = split_utf8(text, limit)
    assert all(len(p.encode("utf-8")) <= limit for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
    for p in parts:
        p.encode("utf-8").decode("utf-8")  # every part is valid UTF-8 on its own


def test_split_prefers_line_ends():
    text = ("第一段内容" * 100 + "\n") * 10
    parts = split_utf8(text, 2048)
    assert len(parts) > 1 and all(p.rstrip("\n").endswith("第一段内容") for p in parts)


def test_short_text_is_one_part():
    assert split_utf8("短消息", 2048) == ["短消息"]
    assert split_utf8("", 2048) == [""]


@pytest.fixture
def outbox(config):
    engine = make_engine(config.database.url)
    yield Outbox(config, session_factory(engine))
    engine.dispose()


def count(outbox):
    with outbox.sessions() as s:
        return s.scalar(select(func.count()).select_from(OutboxMessage))


def test_same_dedupe_key_is_queued_once(outbox):
    assert outbox.to_group("linkage", "预警 YJ-1", dedupe_key="warn:YJ-1") == 1
    assert outbox.to_group("linkage", "预警 YJ-1", dedupe_key="warn:YJ-1") == 0
    assert count(outbox) == 1


def test_long_markdown_is_split_into_rows_under_4096_bytes(outbox):
    n = outbox.to_group("bank_staff", "提醒内容。" * 1000, markdown=True, dedupe_key="long")
    assert n == 4
    with outbox.sessions() as s:
        rows = list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert [r.dedupe_key for r in rows] == ["long#1", "long#2", "long#3", "long#4"]
    assert all(len(r.payload["markdown"]["content"].encode()) <= 4096 for r in rows)


def test_external_customer_group_gets_a_mass_send_task_not_a_robot_message(outbox):
    from bot.wechat_models import MassSendGroup, MassSendTask
    assert outbox.to_group("binhe_residents", "**宣传**", markdown=True, dedupe_key="x") == 1
    assert outbox.to_group("binhe_residents", "宣传", dedupe_key="x") == 0
    with outbox.sessions() as s:
        row = s.scalars(select(OutboxMessage)).one()
        task = s.scalars(select(MassSendTask)).one()
        group = s.scalars(select(MassSendGroup)).one()
    assert row.channel == "mass_send" and row.target == "gridli"
    assert row.payload == {"chat_type": "group", "chat_id_list": ["wrDemoBinheResidents0001"], "sender": "gridli",
                           "allow_select": False, "text": {"content": "宣传"}}
    assert task.state == "queued" and (group.group_id, group.status) == ("binhe_residents", "pending")


def test_a_group_reached_only_by_mentions_is_unreachable(outbox):
    cfg = outbox.config
    g = cfg.group("bank_staff")
    aibot_only = g.model_copy(update={"id": "aibot_only", "send": g.send.model_copy(update={"via": "aibot",
                                                                                          "robot": None})})
    outbox.config = cfg.model_copy(update={"groups": list(cfg.groups) + [aibot_only]})
    with pytest.raises(Unreachable, match="not reachable by the bot"):
        outbox.to_group("aibot_only", "宣传", dedupe_key="y")
    assert count(outbox) == 0


def test_mentions_go_into_the_text_message(outbox):
    outbox.to_group("linkage", "请签收", mentions=["liaison_chen"], dedupe_key="m")
    with outbox.sessions() as s:
        row = s.scalars(select(OutboxMessage)).one()
    assert row.payload == {"msgtype": "text", "text": {"content": "请签收", "mentioned_list": ["liaison_chen"]}}
