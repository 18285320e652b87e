"""What the warning workflow says, in Chinese: posts, task cards, answers, refusals and reports.

Privacy: the linkage group's texts carry the full phone number and name (the liaison must call);
task cards, one-to-one messages and exports carry 138****5678 and 张某.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Optional
from zoneinfo import ZoneInfo

from bot.config import Config
from bot.privacy import mask_name, mask_phone
from bot.warnings.models import CLOSED, DISSUADED, INVALID, ISSUED, REPORTED, SIGNED, UNREACHABLE, VICTIMISED
from bot.warnings.people import audience, liaisons_of, person_name, station_name

STATE_NAMES = {ISSUED: "已下发", SIGNED: "已签收", REPORTED: "已反馈", CLOSED: "已办结"}
RESULT_NAMES = {DISSUADED: "已劝阻", UNREACHABLE: "未接通", VICTIMISED: "已被骗", INVALID: "无效预警"}
RESULTS = {v: k for k, v in RESULT_NAMES.items()}          # 已劝阻 → dissuaded …
EVENT_NAMES = {"created": "下发", "signed": "签收", "reported": "反馈", "closed": "办结", "reassigned": "转派",
               "reminded": "催办", "escalated": "升级", "overdue": "再次升级"}
STEP_EVENTS = {"remind": "reminded", "escalate": "escalated", "overdue": "overdue"}
_TASK = re.compile(r"^(YJ-\d{8}-\d+)-a(\d+)-(sign|r\d+)$")


# --- small pieces --------------------------------------------------------------------------------
def local(config: Config, t: dt.datetime) -> dt.datetime:
    return t.astimezone(ZoneInfo(config.timezone))


def hhmm(config: Config, t: Optional[dt.datetime]) -> str:
    return local(config, t).strftime("%H:%M") if t else "-"


def level_text(level: str) -> str:
    return f"{level}色"


def minutes(m: float) -> str:
    return f"{int(m)}分钟" if m == int(m) else f"{m:g}分钟"


def duration(d: dt.timedelta) -> str:
    s = int(d.total_seconds())
    if s < 60:
        return f"{s}秒"
    if s < 3600:
        return f"{s // 60}分{s % 60:02d}秒"
    return f"{s // 3600}小时{(s % 3600) // 60:02d}分"


def type_name(library, intent: Optional[str]) -> str:
    if not intent:
        return "未识别"
    sc = library.scenarios.get(intent) if library is not None else None
    return sc.short if sc else intent


# --- posts in the linkage group ----------------------------------------------------------------
def dispatch_text(config: Config, library, w, reassigned_from: Optional[str] = None) -> str:
    """The linkage group's post: everything the liaison needs, the full phone number included."""
    who = "、".join(person_name(config, u) for u in liaisons_of(config, w)) or "值班员"
    lines = [f"【预警 {w.number}｜{level_text(w.level)}】" + (f"（由{station_name(config, reassigned_from)}转派）"
                                                           if reassigned_from is not None or w.assignment > 1 else ""),
             f"派：{station_name(config, w.station_id)}（{who}）",
             f"对象：{w.name or '姓名不详'} {w.phone}",
             f"地点：{w.place}",
             f"类型：{type_name(library, w.fraud_type)}"]
    if w.note:
        lines.append(f"说明：{w.note}")
    lines.append(f"请{minutes(config.warnings.first_reminder(w.level))}内签收：#签收 {w.number}，"
                 f"劝阻后反馈：#反馈 {w.number} 已劝阻/未接通/已被骗/无效预警 说明")
    return "\n".join(lines)


def created_text(config: Config, library, w) -> str:
    who = "、".join(person_name(config, u) for u in liaisons_of(config, w)) or "值班员"
    return (f"已下发 {w.number}：{station_name(config, w.station_id)}（{who}），"
            f"{level_text(w.level)}，{type_name(library, w.fraud_type)}。")


def signed_text(config: Config, w, actor: str, now: dt.datetime) -> str:
    return (f"{w.number} 已签收：{person_name(config, actor)} {hhmm(config, now)}（用时{duration(now - w.dispatched_at)}）。"
            f"劝阻后请反馈：#反馈 {w.number} 已劝阻 说明")


def already_signed_text(config: Config, w) -> str:
    return f"{w.number} 已由{person_name(config, w.signed_by)}于{hhmm(config, w.signed_at)}签收，无需重复签收。"


def reported_text(config: Config, w, actor: str, result: str, note: str, now: dt.datetime) -> str:
    name = RESULT_NAMES[result]
    if w.state == CLOSED:
        text = f"{w.number} 已反馈：{name}（{person_name(config, actor)} {hhmm(config, now)}），已办结。"
    else:
        text = (f"{w.number} 已反馈：{name}（{person_name(config, actor)} {hhmm(config, now)}）。"
                f"请继续联系（可通过亲友、村社干部），有结果再 #反馈 {w.number} 结果 说明。")
    if note:
        text += f"\n说明：{note[:200]}"
    return text


def reassigned_text(config: Config, w, actor: str, old_station: Optional[str]) -> str:
    return (f"{w.number} 已由{station_name(config, old_station)}转派{station_name(config, w.station_id)}"
            f"（{person_name(config, actor)}），已通知该所。")


def closed_text(config: Config, w, actor: str, now: dt.datetime) -> str:
    return f"{w.number} 已办结（{person_name(config, actor)} {hhmm(config, now)}）。"


def step_texts(config: Config, w, step, now: dt.datetime) -> tuple[str, str]:
    """An escalation step's post in the linkage group and its one-to-one message."""
    st = station_name(config, w.station_id)
    elapsed = minutes(round((now - w.dispatched_at).total_seconds() / 60))
    head = f"{w.number}（{level_text(w.level)}，{w.place}）"
    if step.kind == "remind":
        return (f"【催办】{head}已下发{elapsed}，{st}仍未签收。请立即签收：#签收 {w.number}",
                f"预警 {w.number} 已下发{elapsed}仍未签收，请立即到联动预警群签收并劝阻。")
    if step.kind == "escalate":
        who = "、".join(person_name(config, u) for u in audience(config, w, list(step.notify))) or "反诈中心"
        return (f"【升级】{head}已下发{elapsed}，{st}仍未签收。请{who}督办。",
                f"预警 {w.number} 派{st}，已下发{elapsed}仍未签收，请督办。")
    limit = minutes(step.after_minutes)
    return (f"【再次升级】{head}下发已超过{limit}，仍无劝阻结果（{STATE_NAMES[w.state]}）。"
            f"请{st}立即反馈：#反馈 {w.number} 结果 说明",
            f"预警 {w.number} 派{st}，超过{limit}仍无劝阻结果，请督办。")


# --- refusals ----------------------------------------------------------------------------------
def refusal_text(config: Config, w, what: str) -> str:
    """Why `what` (签收, 反馈, 转派, 办结) cannot be done on this warning now."""
    if w.state == CLOSED:
        if what == "签收":
            return f"{w.number} 已办结，无需签收。"
        if what == "办结":
            return f"{w.number} 已办结。"
        return f"{w.number} 已办结，不能再{what}。发送 #查询 {w.number} 查看记录。"
    return f"{w.number} 现在是{STATE_NAMES.get(w.state, w.state)}，不能{what}。"


def not_allowed_text(config: Config, w, what: str) -> str:
    return (f"{w.number} 派给{station_name(config, w.station_id)}，只有该所或反诈中心可以{what}。"
            "如不属本辖区，请让反诈中心 #转派。")


# --- task cards (one to one: masked) ---------------------------------------------------------------
def card(config: Config, library, w, stage: str) -> dict:
    """A task card for the liaisons: the sign card (签收), or the result card (已劝阻 / 未接通).

    A card has one or two buttons and each task id is used once, so the two stages are two
    cards with their own ids. The card is not the linkage group: phone and name are masked.
    """
    title = f"预警 {w.number}｜{level_text(w.level)}｜{station_name(config, w.station_id)}"
    desc = (f"对象：{mask_name(w.name) or '姓名不详'} {mask_phone(w.phone)}\n地点：{w.place}\n"
            f"类型：{type_name(library, w.fraud_type)}\n完整号码见联动预警群。")
    if stage == "sign":
        return {"title": title, "description": desc, "task_id": task_id(w, "sign"),
                "buttons": [{"key": "sign", "label": "签收", "done_label": "已签收", "primary": True, "danger": True}]}
    return {"title": "劝阻结果｜" + title, "description": desc, "task_id": task_id(w, "result"),
            "buttons": [{"key": DISSUADED, "label": "已劝阻", "done_label": "已劝阻", "primary": True},
                        {"key": UNREACHABLE, "label": "未接通", "done_label": "未接通", "danger": True}]}


def task_id(w, stage: str, assignment: Optional[int] = None) -> str:
    a = w.assignment if assignment is None else assignment
    return f"{w.number}-a{a}-sign" if stage == "sign" else f"{w.number}-a{a}-r{w.reports + 1}"


def parse_task_id(text: str) -> Optional[tuple[str, int, str]]:
    m = _TASK.match(text or "")
    return (m.group(1), int(m.group(2)), m.group(3)) if m else None


def card_labels(config: Config, actor: Optional[str], action: str) -> list[str]:
    """What a card shows once done, most detailed first: 陈警官已签收, else 已签收 (a card keeps only
    a few characters; the channel shows the first that fits)."""
    return ([person_name(config, actor) + action] if actor else []) + [action]


# --- queries -------------------------------------------------------------------------------------
def query_text(config: Config, library, w, events: list, full: bool = True) -> str:
    """#查询: the warning and its history. full=False masks phone and name (outside the linkage group)."""
    phone = w.phone if full else mask_phone(w.phone)
    name = (w.name if full else mask_name(w.name or "")) or "姓名不详"
    lines = [f"【{w.number}】{STATE_NAMES[w.state]}｜{level_text(w.level)}｜{station_name(config, w.station_id)}",
             f"对象：{name} {phone}", f"地点：{w.place}", f"类型：{type_name(library, w.fraud_type)}"]
    if w.note:
        lines.append(f"说明：{w.note if full else mask_phone(w.note)}")
    if w.result:
        lines.append(f"结果：{RESULT_NAMES[w.result]}" + (f"（{w.result_note}）" if w.result_note else ""))
    lines.append("记录：")
    for e in events:
        what = EVENT_NAMES.get(e.kind, e.kind)
        d = e.detail or {}
        if e.kind == "reported":
            what += f" {RESULT_NAMES.get(d.get('result'), '')}"
        if e.kind == "reassigned":
            what += f" {station_name(config, d.get('from'))}→{station_name(config, d.get('to'))}"
        lines.append(f"{local(config, e.at).strftime('%m-%d %H:%M')} {what} {person_name(config, e.actor)}")
    return "\n".join(lines)


def open_list_text(config: Config, rows: list, now: dt.datetime, limit: int = 30) -> str:
    if not rows:
        return "没有未办结的预警。"
    lines = [f"未办结预警 {len(rows)} 条："]
    for w in rows[:limit]:
        lines.append(f"{w.number} {STATE_NAMES[w.state]} {level_text(w.level)} {station_name(config, w.station_id)} "
                     f"{w.place} 已{duration(now - w.dispatched_at)}")
    if len(rows) > limit:
        lines.append(f"……另有 {len(rows) - limit} 条，#查询 编号 查看详情。")
    return "\n".join(lines)


def summary_text(config: Config, s: dict) -> str:
    a, b = local(config, s["since"]), local(config, s["until"])
    r = s["results"]
    median = duration(dt.timedelta(seconds=s["median_sign_seconds"])) if s["median_sign_seconds"] is not None else "无"
    late = "、".join(f"{k} {v} 条" for k, v in sorted(s["overdue"].items())) or "无"
    return "\n".join([
        f"【预警日报】{a:%m月%d日 %H:%M} 至 {b:%m月%d日 %H:%M}",
        f"新增 {s['new']} 条，签收 {s['signed']} 条",
        f"已劝阻 {r[DISSUADED]}，未接通 {r[UNREACHABLE]}，已被骗 {r[VICTIMISED]}，无效预警 {r[INVALID]}",
        f"签收用时中位数：{median}",
        f"超时未办：{late}",
        f"目前未办结 {s['open']} 条（联动群发送 #未办结 查看）。"])


def export(config: Config, library, w) -> dict:
    """A warning as JSON for anything that is not the linkage group: phone and name masked."""
    return {"number": w.number, "external_id": w.external_id, "state": w.state, "state_name": STATE_NAMES[w.state],
            "level": w.level, "station": w.station_id, "station_name": station_name(config, w.station_id),
            "name": mask_name(w.name or ""), "phone": mask_phone(w.phone), "place": w.place,
            "type": w.fraud_type, "type_name": type_name(library, w.fraud_type),
            "result": w.result, "created_at": w.created_at.isoformat(),
            "signed_at": w.signed_at.isoformat() if w.signed_at else None,
            "closed_at": w.closed_at.isoformat() if w.closed_at else None}
