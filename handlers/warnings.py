"""Warning commands in the linkage group, 收到 replies, and task card clicks.

#预警 #签收 #反馈 #转派 #办结 #查询 #未办结 work only in the linkage group and only for the
police (the router refuses everyone else); a click on a task card comes through the app's
one-to-one callback and is checked here (assigned station or the centre).
"""
from __future__ import annotations

import logging
from typing import Optional

from bot import warnings as wn
from bot.core.context import Context
from bot.core.inbox import record_applied
from bot.core.message import Message, Reply
from bot.core.router import Handler
from bot.db import session_scope
from bot.privacy import mask_phone

log = logging.getLogger(__name__)

POLICE = {"police", "liaison", "admin"}
LINKAGE = {"linkage"}
CLICK_RESULTS = {"dissuaded": "dissuaded", "unreachable": "unreachable"}


def _ref(msg: Message) -> str:
    return f"{msg.channel}:{msg.dedupe_key}"


class _WarningHandler(Handler):
    roles = POLICE
    chats = LINKAGE
    quick = True           # one transaction each; the matcher in #预警 takes about a millisecond

    def change(self, msg: Message, ctx: Context, fn, one_to_one: bool = False) -> list[Reply]:
        """Run fn(session, ctx) in one transaction, with the answer recorded in it (a message taken up
        again after a crash answers it instead of acting twice); wake the sender after the commit.
        one_to_one: the answer goes to a chat that is not the linkage group (phone numbers masked)."""
        try:
            with session_scope(ctx.sessions) as s:
                text = fn(s, ctx)
                replies = [Reply(mask_phone(text) if one_to_one else text)]
                record_applied(s, msg, replies)
        except wn.WarningError as e:
            return [Reply(mask_phone(str(e)) if one_to_one else str(e))]
        ctx.outbox.notify()
        return replies


class CreateHandler(_WarningHandler):
    name = "warning-create"
    command = "预警"
    roles = {"police"}
    usage = "#预警 姓名:张三 电话:138… 地址:… 类型:… 级别:红/橙/黄 说明:…"
    summary = "下发预警指令（至少要有电话和辖区/地址）"

    def handle(self, msg: Message, ctx: Context, args: str = "") -> list[Reply]:
        d = wn.parse_warning(args, ctx.config, ctx.matcher, ctx.library)
        if d.problems:
            return [Reply("预警没有下发：" + "；".join(p.zh for p in d.problems) + "。\n"
                          f"用法：{self.usage}\n也可以直接粘贴预警内容，我会识别姓名、电话、地址和诈骗类型。")]
        w, _ = wn.create_with_retry(ctx.sessions, ctx, d, actor=msg.sender, channel=msg.channel,
                                    ref=_ref(msg), now=ctx.clock())
        who = "、".join(wn.person_name(ctx.config, u) for u in wn.liaisons_of(ctx.config, w)) or "值班员"
        remarks = "".join(f"（{r}）" for r in d.remarks)
        return [Reply(f"已下发 {w.number}：{wn.station_name(ctx.config, w.station_id)}（{who}），"
                      f"{wn.level_text(w.level)}，{wn.type_name(ctx.library, w.fraud_type)}。{remarks}")]


class SignHandler(_WarningHandler):
    name = "warning-sign"
    command = "签收"
    usage = "#签收 编号"
    summary = "签收预警"

    def handle(self, msg: Message, ctx: Context, args: str = "") -> list[Reply]:
        if not wn.normalize_number(args):
            return [Reply(f"用法：{self.usage}（例如 #签收 YJ-20261128-001）")]
        return self.change(msg, ctx, lambda s, c: wn.sign(
            s, c, wn.get_or_fail(s, args), actor=msg.sender, channel=msg.channel, ref=_ref(msg), now=ctx.clock()))


class ReportHandler(_WarningHandler):
    name = "warning-report"
    command = "反馈"
    usage = "#反馈 编号 结果 说明（结果：已劝阻/未接通/已被骗/无效预警）"
    summary = "反馈劝阻结果"

    def handle(self, msg: Message, ctx: Context, args: str = "") -> list[Reply]:
        parts = args.split(maxsplit=2)
        if len(parts) < 2 or not wn.normalize_number(parts[0]) or parts[1] not in wn.RESULTS:
            return [Reply(f"用法：{self.usage}\n例如：#反馈 YJ-20261128-001 已劝阻 已联系本人，未转账")]
        result, note = wn.RESULTS[parts[1]], parts[2] if len(parts) > 2 else ""
        return self.change(msg, ctx, lambda s, c: wn.report(
            s, c, wn.get_or_fail(s, parts[0]), actor=msg.sender, result=result, note=note, channel=msg.channel,
            ref=_ref(msg), now=ctx.clock()))


class ReassignHandler(_WarningHandler):
    name = "warning-reassign"
    command = "转派"
    usage = "#转派 编号 派出所"
    summary = "改派给其他派出所（或反诈中心）"

    def handle(self, msg: Message, ctx: Context, args: str = "") -> list[Reply]:
        parts = args.split(maxsplit=1)
        names = "、".join(s.name for s in ctx.config.stations) + "、" + wn.CENTRE_NAME
        if len(parts) < 2 or not wn.normalize_number(parts[0]):
            return [Reply(f"用法：{self.usage}（可选：{names}）")]
        ok, station = wn.find_station(ctx.config, parts[1])
        if not ok:
            return [Reply(f"没有“{parts[1]}”这个派出所。可选：{names}")]
        return self.change(msg, ctx, lambda s, c: wn.reassign(
            s, c, wn.get_or_fail(s, parts[0]), actor=msg.sender, station_id=station, channel=msg.channel,
            ref=_ref(msg), now=ctx.clock()))


class CloseHandler(_WarningHandler):
    name = "warning-close"
    command = "办结"
    usage = "#办结 编号 说明"
    summary = "反诈中心办结预警"

    def handle(self, msg: Message, ctx: Context, args: str = "") -> list[Reply]:
        parts = args.split(maxsplit=1)
        if not parts or not wn.normalize_number(parts[0]):
            return [Reply(f"用法：{self.usage}")]
        return self.change(msg, ctx, lambda s, c: wn.close(
            s, c, wn.get_or_fail(s, parts[0]), actor=msg.sender, note=parts[1] if len(parts) > 1 else "",
            channel=msg.channel, ref=_ref(msg), now=ctx.clock()))


class QueryHandler(_WarningHandler):
    name = "warning-query"
    command = "查询"
    usage = "#查询 编号"
    summary = "查看预警详情和处置记录"

    def handle(self, msg: Message, ctx: Context, args: str = "") -> list[Reply]:
        if not wn.normalize_number(args):
            return [Reply(f"用法：{self.usage}（例如 #查询 YJ-20261128-001）")]
        try:
            with ctx.sessions() as s:
                w = wn.get_or_fail(s, args)
                return [Reply(wn.query_text(s, ctx.config, ctx.library, w, full=True))]
        except wn.WarningError as e:
            return [Reply(str(e))]


class OpenListHandler(_WarningHandler):
    name = "warning-open"
    command = "未办结"
    usage = "#未办结"
    summary = "列出未办结的预警"

    def handle(self, msg: Message, ctx: Context, args: str = "") -> list[Reply]:
        with ctx.sessions() as s:
            return [Reply(wn.open_list_text(s, ctx.config, ctx.clock()))]


class AckHandler(_WarningHandler):
    """收到 with a warning number, or 收到 quoting the dispatch post, signs for it."""
    name = "warning-ack"
    priority = 20

    def _number(self, msg: Message) -> Optional[str]:
        text = msg.text.strip()
        if "收到" not in text or len(text) > 60:
            return None
        return wn.normalize_number(text) or wn.normalize_number(str(msg.extra.get("quote") or ""))

    def accepts(self, msg: Message, ctx: Context) -> bool:
        return not msg.event and msg.is_group and self.allowed(msg, ctx) and self._number(msg) is not None

    def handle(self, msg: Message, ctx: Context, args: str = "") -> list[Reply]:
        number = self._number(msg)
        return self.change(msg, ctx, lambda s, c: wn.sign(
            s, c, wn.get_or_fail(s, number), actor=msg.sender, channel=msg.channel, ref=_ref(msg), now=ctx.clock()))


class TaskCardHandler(_WarningHandler):
    """A click on a task card (app callback, Event taskcard_click, EventKey = button, TaskId)."""
    name = "warning-taskcard"
    roles = None
    chats = None
    priority = 10

    def accepts(self, msg: Message, ctx: Context) -> bool:
        return msg.event == "taskcard_click" and wn.parse_task_id(str(msg.extra.get("task_id") or "")) is not None

    def handle(self, msg: Message, ctx: Context, args: str = "") -> list[Reply]:
        number, assignment, stage = wn.parse_task_id(str(msg.extra.get("task_id")))
        if not POLICE & ctx.roles(msg):
            return [Reply("只有民警可以处置预警。")]
        key = msg.event_key or ""

        def act(s, c):
            w = wn.get_or_fail(s, number)
            if assignment != w.assignment:
                return f"{number} 已转派{wn.station_name(ctx.config, w.station_id)}，这张卡片已失效。"
            if stage == "sign" and key == "sign":
                return wn.sign(s, c, w, actor=msg.sender, channel=msg.channel, ref=_ref(msg), now=ctx.clock(),
                               announce=True)
            if stage != "sign" and key in CLICK_RESULTS:
                if stage != f"r{w.reports + 1}":
                    return f"{number} 的这次结果已经反馈过（{wn.RESULT_NAMES.get(w.result, '')}）。"
                return wn.report(s, c, w, actor=msg.sender, result=CLICK_RESULTS[key], note="", channel=msg.channel,
                                 ref=_ref(msg), now=ctx.clock(), announce=True)
            raise wn.WarningError("这张卡片没有这个按钮。")
        # a one-to-one chat is not the linkage group: no full phone number here
        return self.change(msg, ctx, act, one_to_one=True)


def warning_handlers() -> list[Handler]:
    return [TaskCardHandler(), AckHandler(), CreateHandler(), SignHandler(), ReportHandler(), ReassignHandler(),
            CloseHandler(), QueryHandler(), OpenListHandler()]
