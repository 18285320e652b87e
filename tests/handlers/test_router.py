"""Router: #帮助 by role and chat, usage for unknown commands, refusals in one place."""
from bot.config import load_config
from bot.core.message import Message, Reply
from bot.core.context import Context
from bot.core.router import Handler, Router
from handlers.help import FallbackHandler, HelpHandler
from bot.core.router import parse_command
from tests.conftest import ROOT


class WarnCmd(Handler):
    name = "warn"
    command = "预警"
    roles = {"police"}
    chats = {"linkage"}
    usage = "#预警 电话:… 辖区:…"
    summary = "发布预警指令"

    def handle(self, msg, ctx, args=""):
        return [Reply(f"已收到：{args}")]


def build_router(extra=()):
    return Router([*extra, HelpHandler()], fallback=FallbackHandler())


def ctx(router=None):
    return Context(config=load_config(ROOT / "config.yaml", env={}), router=router)


def group_msg(chat, sender, text):
    return Message(channel="aibot", sender=sender, text=text, dedupe_key="k", chat_type="group", chat_id=chat)


def test_parse_command_forms():
    assert parse_command("#预警 电话:138 辖区:城关") == ("预警", "电话:138 辖区:城关")
    assert parse_command("＃帮助") == ("帮助", "")
    assert parse_command("#反馈：YJ-1 已劝阻") == ("反馈", "YJ-1 已劝阻")
    assert parse_command("有人让我刷单#") is None


def test_help_lists_only_what_this_sender_may_use_here():
    router = build_router([WarnCmd()])
    _, police_in_linkage = router.dispatch(group_msg("linkage", "police_duty", "#帮助"), ctx(router))
    _, resident_in_grid = router.dispatch(group_msg("dongguan_grid", "res_liu", "#帮助"), ctx(router))
    assert "#预警" in police_in_linkage[0].text
    assert "#预警" not in resident_in_grid[0].text and "#帮助" in resident_in_grid[0].text
    assert "110" in resident_in_grid[0].text and "96110" in resident_in_grid[0].text


def test_command_refused_for_wrong_role_or_chat():
    router = build_router([WarnCmd()])
    name, replies = router.dispatch(group_msg("linkage", "res_liu", "#预警 电话:13800000000"), ctx())
    assert name == "warn" and "仅限民警在联动预警群中使用" in replies[0].text
    _, replies = router.dispatch(group_msg("dongguan_grid", "police_duty", "#预警 x"), ctx())
    assert "仅限" in replies[0].text
    _, replies = router.dispatch(group_msg("linkage", "police_duty", "#预警 电话:1"), ctx())
    assert replies[0].text == "已收到：电话:1"


def test_unknown_command_gets_a_short_usage_reply():
    router = build_router([WarnCmd()])
    name, replies = router.dispatch(group_msg("linkage", "police_duty", "#预警单"), ctx())
    assert name == "unknown-command"
    assert "没有“#预警单”这个命令" in replies[0].text and "#预警" in replies[0].text and "#帮助" in replies[0].text


def test_plain_text_without_a_taker_gets_the_pointer_not_a_guess():
    router = build_router()
    name, replies = router.dispatch(group_msg("dongguan_grid", "res_liu", "今天天气不错"), ctx())
    assert name == "fallback" and "#帮助" in replies[0].text


def test_non_command_handlers_are_offered_a_message_by_priority_not_by_list_order():
    class Low(Handler):
        name, priority = "low", 90

        def accepts(self, msg, ctx):
            return True

        def handle(self, msg, ctx, args=""):
            return [Reply("low")]

    class High(Low):
        name, priority = "high", 10

        def handle(self, msg, ctx, args=""):
            return [Reply("high")]
    router = Router([Low(), High()])
    assert router.dispatch(group_msg("dongguan_grid", "res_liu", "你好"), ctx(router))[0] == "high"


def test_two_handlers_claiming_one_command_are_refused_at_start():
    import pytest
    with pytest.raises(ValueError, match="#预警"):
        Router([WarnCmd(), WarnCmd()])
