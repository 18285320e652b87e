"""#统计 (this week), #研判 (what is rising), #考核 (unit scores): a markdown summary and a chart
image through the group robot, in the linkage and leadership groups. #承诺书 records household
pledges for the unit of the group it is sent in (grid workers and propaganda staff). #回访 records
and lists victim follow-ups of a case, in the linkage group only (notes may name the victim)."""
from __future__ import annotations

import logging
import re
from zoneinfo import ZoneInfo

from bot.message import Message, Reply
from handlers.router import Context, Handler

log = logging.getLogger(__name__)

STAFF = {"admin", "police", "liaison", "propaganda"}


class _StatsHandler(Handler):
    roles = STAFF
    chats = {"linkage", "leadership"}

    def __init__(self, service_ref):
        self._svc = service_ref

    def figures(self, svc, now):
        raise NotImplementedError

    def handle(self, msg: Message, ctx: Context, args: str = "") -> list[Reply]:
        from bot.outbox import Unreachable
        from bot.reports import FontMissing
        svc = self._svc()
        now = ctx.clock()
        text, chart = self.figures(svc, now)
        try:
            png = chart()
        except FontMissing as e:
            log.error("%s chart: %s", self.command, e)
            return [Reply(text + "\n（图表未生成：服务器缺少中文字体）", markdown=True)]
        key = f"stats:{self.name}:{msg.channel}:{msg.dedupe_key}"
        try:
            svc.outbox.to_group_image(msg.chat_id, png, dedupe_key=key, source=f"stats:{self.name}")
            svc.outbox.notify()
        except (Unreachable, ValueError) as e:
            log.warning("%s chart not sent: %s", self.command, e)
        return [Reply(text, markdown=True)]


class StatsHandler(_StatsHandler):
    name = "stats"
    command = "统计"
    usage = "#统计"
    summary = "本周案件与预警统计（附图）"

    def figures(self, svc, now):
        from bot import reports, stats
        a = stats.analyse(svc.sessions, svc.config, stats.week_period(svc.config, now))
        st = stats.warning_stats(svc.sessions, svc.config, a.period, now)
        return stats.stats_markdown(a, st), lambda: reports.stats_chart(a, reports.cjk_font(svc.config.reports.font))


class RisingHandler(_StatsHandler):
    name = "rising"
    command = "研判"
    usage = "#研判"
    summary = "近期上升的诈骗类型和乡镇（附图）"

    def figures(self, svc, now):
        from bot import reports, stats
        a, rises = stats.rising(svc.sessions, svc.config, now)
        return stats.rising_markdown(a, rises), lambda: reports.rising_chart(a, reports.cjk_font(svc.config.reports.font))


class AssessmentHandler(_StatsHandler):
    name = "assessment"
    command = "考核"
    usage = "#考核"
    summary = "本周各责任单位考核得分（附图）"

    def figures(self, svc, now):
        from bot import reports, stats
        period = stats.week_period(svc.config, now)
        scores = stats.assess(svc.sessions, svc.config, period, now)
        return (stats.assessment_markdown(period, scores),
                lambda: reports.assessment_chart(period.label, scores, reports.cjk_font(svc.config.reports.font)))


PLEDGE_USAGE = "用法：#承诺书 户数 说明，例如：#承诺书 35 东关村三组入户签订"


class PledgeHandler(Handler):
    name = "pledge"
    command = "承诺书"
    roles = {"propaganda", "admin"}
    chats = {"community", "bank", "school", "square", "network", "station", "unit", "enterprise"}
    usage = "#承诺书 户数 说明"
    summary = "登记签订家庭防骗承诺书的户数（计入本群责任单位的考核）"

    def __init__(self, service_ref):
        self._svc = service_ref

    def handle(self, msg: Message, ctx: Context, args: str = "") -> list[Reply]:
        from bot.cases import record_pledge
        m = re.fullmatch(r"(\d{1,5})\s*户?\s*(.*)", args.strip(), re.S)
        if not m or int(m.group(1)) <= 0:
            return [Reply(PLEDGE_USAGE)]
        group = ctx.config.group(msg.chat_id or "")
        if group is None or not group.unit:
            return [Reply("本群没有配置责任单位，无法登记承诺书。")]
        n = int(m.group(1))
        new = record_pledge(self._svc().sessions, unit=group.unit, households=n, note=m.group(2).strip(),
                            by=msg.sender, source_ref=f"{msg.channel}:{msg.dedupe_key}", at=ctx.clock())
        unit = ctx.config.unit_name(group.unit)
        return [Reply(f"已登记：{unit} 家庭防骗承诺书 {n} 户。" if new else "这条登记已记录过。")]


FOLLOW_UP_USAGE = ("用法：#回访 案件编号 情况说明（记录一次回访，可用“走访：”“电话：”开头说明方式）；"
                   "#回访 案件编号（查看这起案件的回访记录）")
FOLLOW_UP_METHODS = ("电话", "走访", "上门", "微信", "视频")


class FollowUpHandler(Handler):
    name = "follow_up"
    command = "回访"
    roles = {"police", "liaison", "admin"}
    chats = {"linkage"}
    usage = "#回访 案件编号 [情况说明]"
    summary = "记录或查看受害人回访"

    def __init__(self, service_ref):
        self._svc = service_ref

    def handle(self, msg: Message, ctx: Context, args: str = "") -> list[Reply]:
        from bot import cases
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9_-]{1,39})\s*(.*)", args.strip(), re.S)
        if not m:
            return [Reply(FOLLOW_UP_USAGE)]
        case_no, note = m.group(1), m.group(2).strip()
        method = "电话"
        how = re.match(r"(%s)\s*[:：]\s*" % "|".join(FOLLOW_UP_METHODS), note)
        if how:
            method, note = how.group(1), note[how.end():].strip()
        sessions = self._svc().sessions
        try:
            if note:
                cases.add_follow_up(sessions, case_no, by=msg.sender, note=note[:1000], method=method,
                                    at=ctx.clock())
            case, items = cases.follow_ups(sessions, case_no)
        except cases.CaseError as e:
            return [Reply(f"{e}。{FOLLOW_UP_USAGE}")]
        tz = ZoneInfo(ctx.config.timezone)
        head = (f"{case.case_no}（{case.occurred_at.astimezone(tz):%m-%d} {case.township} "
                f"{cases.type_name(case.fraud_type)}）")
        if note:
            return [Reply(f"已记录{head}的{method}回访，共回访 {len(items)} 次。")]
        if not items:
            return [Reply(f"{head}还没有回访记录。")]
        lines = [f"{head}回访 {len(items)} 次："]
        for f in items[-10:]:
            who = ctx.config.person(f.by)
            lines.append(f"{f.at.astimezone(tz):%m-%d %H:%M} {f.method} {who.name if who else f.by}：{f.note}")
        return [Reply("\n".join(lines))]


def stats_handlers(service_ref) -> list[Handler]:
    return [StatsHandler(service_ref), RisingHandler(service_ref), AssessmentHandler(service_ref),
            PledgeHandler(service_ref), FollowUpHandler(service_ref)]
