"""Outbox: byte-limit splitting, dedupe keys, what each channel renders, and groups the bot cannot reach."""
import pytest
from sqlalchemy import func, select

from bot.app import Service
from bot.channels.base import Unreachable, split_utf8
from bot.models import OutboxMessage


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
def service(config):
    svc = Service(config)
    yield svc
    svc.engine.dispose()


@pytest.fixture
def outbox(service):
    return service.outbox


def rendered(service, row):
    """The wire format the row's channel adapter sends for it."""
    return service.channels[row.channel].render(row)


def count(outbox):
    with outbox.sessions() as s:
        return s.scalar(select(func.count()).select_from(OutboxMessage))


def test_same_dedupe_key_is_queued_once(outbox):
    assert outbox.to_group("linkage", "预警 YJ-1", dedupe_key="warn:YJ-1") == 1
    assert outbox.to_group("linkage", "预警 YJ-1", dedupe_key="warn:YJ-1") == 0
    assert count(outbox) == 1


def test_long_markdown_is_split_into_rows_under_4096_bytes(service, outbox):
    n = outbox.to_group("bank_staff", "提醒内容。" * 1000, rich=True, mentions=["liaison_chen"], dedupe_key="long")
    assert n == 4
    with outbox.sessions() as s:
        rows = list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert [r.dedupe_key for r in rows] == ["long#1", "long#2", "long#3", "long#4"]
    wire = [rendered(service, r) for r in rows]
    assert all(w["msgtype"] == "markdown" and len(w["markdown"]["content"].encode()) <= 4096 for w in wire)
    assert "".join(w["markdown"]["content"] for w in wire).count("提醒内容。") == 1000
    assert wire[-1]["markdown"]["content"].endswith("<@liaison_chen>")    # the mention goes with the last part


def test_rich_text_reaches_an_app_group_as_markdown_and_a_member_as_plain_text(service, outbox):
    g = outbox.config.group("bank_staff")
    app_group = g.model_copy(update={"id": "propaganda", "send": g.send.model_copy(update={
        "via": "appchat", "robot": None, "chatid": "propchat"})})
    outbox.config = outbox.config.model_copy(update={"groups": list(outbox.config.groups) + [app_group]})
    outbox.to_group("propaganda", "**本周重点**：刷单返利", rich=True, dedupe_key="ac")
    outbox.to_members(["liaison_chen"], "**本周重点**：刷单返利", rich=True, dedupe_key="dm")
    with outbox.sessions() as s:
        group_row, member_row = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
    assert rendered(service, group_row)["markdown"] == {"content": "**本周重点**：刷单返利"}
    assert rendered(service, member_row)["text"] == {"content": "本周重点：刷单返利"}


def test_external_customer_group_gets_a_mass_send_task_not_a_robot_message(service, outbox):
    from bot.wechat_models import MassSendGroup, MassSendTask
    assert outbox.to_group("binhe_residents", "**宣传**", rich=True, dedupe_key="x") == 1
    assert outbox.to_group("binhe_residents", "宣传", dedupe_key="x") == 0
    with outbox.sessions() as s:
        row = s.scalars(select(OutboxMessage)).one()
        task = s.scalars(select(MassSendTask)).one()
        group = s.scalars(select(MassSendGroup)).one()
    assert row.channel == "customer_group" and row.target == "gridli"
    assert rendered(service, row) == {"chat_type": "group", "chat_id_list": ["wrDemoBinheResidents0001"], "sender": "gridli",
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


def test_mentions_go_into_the_text_message(service, outbox):
    outbox.to_group("linkage", "请签收", mentions=["liaison_chen"], dedupe_key="m")
    with outbox.sessions() as s:
        row = s.scalars(select(OutboxMessage)).one()
    assert rendered(service, row) == {"msgtype": "text", "text": {"content": "请签收", "mentioned_list": ["liaison_chen"]}}
