"""Residents' questions as the console shows them, and the examples the reviewers' labels become.

- `mask_text`: phone numbers, long card / ID numbers and names in a resident's text are masked for
  everyone on the questions page (residents' messages are not the linkage group), and in the examples
  file the labels are written to.
- `questions` / `review_queue`: the inbound messages the Q&A decided on (inbound_message.decision) from
  residents (not the staff's own messages), with the bot's answer.
- `write_labels`: content/examples/console_labels.jsonl, rewritten from the labelled QuestionReview rows
  every time (so relabelling a message changes its line and never adds a second one), under a file lock.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import json
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Optional
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select

from bot.console.access import STAFF
from bot.console_models import QuestionReview
from bot.models import InboundMessage, OutboxMessage
from bot.privacy import mask_name, mask_phone
from bot.warnings.parse import _SURNAMES
from content import markup
from content.files import NONE, atomic_write

LABELS_FILE = "console_labels.jsonl"
PICTURE_MARK = "[图片文字] "

# what the Q&A did, as inbound_message.decision records it
DECISIONS = {
    "answer": "作答",
    "ask": "追问（两类之间）",
    "suspect": "疑似，追问",
    "none": "未识别（回帮助语）",
    "follow": "案例/怎么办",
    "menu": "菜单/帮助",
    "unread": "没看懂（语音、看不清的图）",
    "limited": "发图过多",
}
# the review queue: answered none, asked back (or marked wrong by staff)
QUEUE_DECISIONS = ("none", "ask")

# a bank card or ID number: 12 to 19 digits (an ID may end in X)
_LONG_NUMBER = re.compile(r"(?<!\d)(\d{4})\d{4,11}(\d{3}[\dXx])(?![\dA-Za-z])")
# a name said as one: 姓名：张三, 名叫, 联系人 … (always masked); 我叫, 有个叫, 自称 … (when it reads as a name)
_NAME_CUE = re.compile(r"(名叫|名字叫|名字是|姓名[:：]\s*|姓名\s+|联系人[:：]\s*)([\u4e00-\u9fa5]{2,4})")
_NAME_WEAK_CUE = re.compile(r"(我叫|个叫|位叫|叫做|自称|冒充)([\u4e00-\u9fa5]{2,3}?)(?=[^\u4e00-\u9fa5]|的|说|让|给|是|$)")
# a name before what the person said or did: 张三说, 李四让我, 王某某给我打电话
_NAME_SAYS = re.compile(r"(?<![\u4e00-\u9fa5])([\u4e00-\u9fa5]{2,3}?)(?=说|让我|叫我|告诉我|给我打|打电话|加我)")
# everyday words that start with a common surname, never masked when they stand alone
_NOT_NAMES = {"方便", "高兴", "马上", "周末", "金额", "余额", "任务", "任何", "许多", "黄金", "白天", "万一", "程序",
              "方法", "方式", "严重", "于是", "高中", "高考", "江湖", "石头", "陈述", "孔子", "曾经", "常常", "何时",
              "温馨", "罗列", "毛病", "钱包", "钱款", "贺卡", "顾客", "汤圆", "龙头", "雷达", "史上", "韦博", "董事长",
              "董事", "马上办", "黄色", "石油", "金融", "白条", "高利贷", "高额", "高息", "周转", "万元", "高价", "高薪",
              "高血压", "高端", "高铁", "高速", "黄牛", "孙女", "孙子", "白名单", "金条", "金币", "钟点工"}
# characters a name hardly has: a segment with one is a phrase (付了钱, 钱没了, 马上办), not a name
_NOT_NAME_CHARS = set("了没给款钱上色事别取冻结付办说要吗呢吧啊的是在有和不也就都把被让去来过还再完")
_SEGMENT = re.compile(r"[^\s,，.。!！?？;；:：、\"“”'‘’()（）【】\[\]<>《》~～…—-]+")


def mask_text(text: str, people_names: tuple[str, ...] = ()) -> str:
    """The text with phone numbers (138****5678), card and ID numbers (6222****1234) and names masked:
    a name said as one (我叫张三 → 我叫张某), a configured person's name, and a stand-alone two- or
    three-character word that starts with a common surname (as the warning parser reads names)."""
    out = mask_phone(text or "")
    out = _LONG_NUMBER.sub(lambda m: f"{m.group(1)}****{m.group(2)}", out)
    for name in sorted((n for n in people_names if len(n) >= 2), key=len, reverse=True):
        out = out.replace(name, mask_name(name))
    out = _NAME_CUE.sub(lambda m: m.group(1) + mask_name(m.group(2)), out)
    out = _NAME_WEAK_CUE.sub(lambda m: m.group(1) + (mask_name(m.group(2)) if _is_name(m.group(2)) else m.group(2)),
                             out)
    out = _NAME_SAYS.sub(lambda m: mask_name(m.group(1)) if _is_name(m.group(1)) else m.group(1), out)

    def segment(m: re.Match) -> str:
        w = m.group(0)
        return mask_name(w) if _is_name(w) else w
    return _SEGMENT.sub(segment, out)


def _is_name(w: str) -> bool:
    return bool(re.fullmatch(r"[\u4e00-\u9fa5]{2,3}", w)) and w[0] in _SURNAMES and w not in _NOT_NAMES \
        and not w.endswith("某") and not _NOT_NAME_CHARS & set(w[1:])


def example_text(text: str) -> str:
    """A message's text as an example: the words and the text read from its pictures."""
    return "\n".join(line.removeprefix(PICTURE_MARK) for line in (text or "").splitlines()).strip()


# ------------------------------------------------------------------------------------------ queries

def staff_ids(config) -> list[str]:
    return [p.userid for p in config.people if set(p.roles) & STAFF]


def residents_questions(config):
    """Inbound messages the Q&A decided on, from residents: not the staff's own questions."""
    staff = staff_ids(config)
    cond = InboundMessage.decision.is_not(None)
    return and_(cond, InboundMessage.sender.not_in(staff)) if staff else cond


def day_range(config, day: str) -> Optional[tuple[dt.datetime, dt.datetime]]:
    """The UTC bounds of a local day written YYYY-MM-DD; None when it is not a date."""
    try:
        d = dt.date.fromisoformat(day)
    except ValueError:
        return None
    start = dt.datetime.combine(d, dt.time(), tzinfo=ZoneInfo(config.timezone))
    return start.astimezone(dt.timezone.utc), (start + dt.timedelta(days=1)).astimezone(dt.timezone.utc)


@dataclass
class Row:
    m: InboundMessage
    review: Optional[QuestionReview]
    text: str          # masked
    answer: str        # the bot's answer, first lines, masked
    where: str


def questions(session, config, *, decision: str = "", intent: str = "", day: str = "", page: int = 1,
              per_page: int = 30, queue: bool = False) -> tuple[list[Row], int]:
    """(rows of this page, newest first; how many in all). `queue`: the review queue instead."""
    cond = [residents_questions(config)]
    if decision:
        cond.append(InboundMessage.decision == decision)
    if intent:
        cond.append(InboundMessage.intent == intent)
    if day:
        bounds = day_range(config, day)
        if bounds:
            cond += [InboundMessage.received_at >= bounds[0], InboundMessage.received_at < bounds[1]]
    if queue:
        cond += [or_(InboundMessage.decision.in_(QUEUE_DECISIONS), QuestionReview.marked_wrong_at.is_not(None)),
                 QuestionReview.label.is_(None), InboundMessage.text != ""]
    base = select(InboundMessage, QuestionReview).outerjoin(
        QuestionReview, QuestionReview.message_id == InboundMessage.id).where(*cond)
    total = session.scalar(select(func.count()).select_from(base.subquery()))
    found = list(session.execute(base.order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc())
                                 .offset((max(page, 1) - 1) * per_page).limit(per_page)))
    answers = bot_answers(session, [m for m, _ in found])
    names = people_names(config)
    rows = [Row(m, r, mask_text(m.text, names), mask_text(answers.get(m.id, ""), names), where(config, m))
            for m, r in found]
    return rows, total


def people_names(config) -> tuple[str, ...]:
    return tuple(p.name for p in config.people)


def where(config, m: InboundMessage) -> str:
    """The group's name, or a one-to-one chat (a WeChat follower's, who is no WeCom member)."""
    if m.chat_id:
        g = config.group(m.chat_id)
        return g.name if g else m.chat_id
    return "一对一" if (m.message or {}).get("member", True) else "一对一（微信）"


def bot_answers(session, messages: list[InboundMessage], lines: int = 2) -> dict[int, str]:
    """The first lines of the bot's answer to each message: the passive reply that carries the Q&A's
    decision, else what went through the outbox for the message (a picture's answer, an answer that
    waited its turn in a group)."""
    out: dict[int, str] = {}
    later = []
    for m in messages:
        try:
            docs = json.loads(m.passive_reply) if m.passive_reply else []
        except ValueError:
            docs = []
        chosen = next((d for d in docs if isinstance(d, dict) and d.get("decision")), None)
        if chosen is not None and chosen.get("text"):
            out[m.id] = first_lines(chosen["text"], lines)
        else:
            later.append(m.id)
    if later:
        sources = {f"inbound:{i}": i for i in later}
        for source, payload in session.execute(
                select(OutboxMessage.source, OutboxMessage.payload).where(OutboxMessage.source.in_(list(sources)))
                .order_by(OutboxMessage.id)):
            i = sources[source]
            if i in out or not isinstance(payload, dict) or not payload.get("text"):
                continue
            text = payload["text"]
            out[i] = first_lines(markup.plain(text) if payload.get("rich") else text, lines)
    return out


def first_lines(text: str, n: int) -> str:
    return "\n".join([line for line in (text or "").splitlines() if line.strip()][:n])


# ------------------------------------------------------------------------------------------ labels

def labels_path(config) -> Path:
    return Path(config.examples_path) / LABELS_FILE


@contextmanager
def _file_lock(path: Path):
    """One writer of the labels file at a time, across the web processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def labelled_examples(session, config) -> list[dict]:
    """One example per labelled message (masked text and label), oldest message first; the same
    text with the same label once."""
    names = people_names(config)
    seen, out = set(), []
    for m_id, text, label in session.execute(
            select(InboundMessage.id, InboundMessage.text, QuestionReview.label)
            .join(QuestionReview, QuestionReview.message_id == InboundMessage.id)
            .where(QuestionReview.label.is_not(None)).order_by(InboundMessage.id)):
        t = mask_text(example_text(text), names)
        if not t or (t, label) in seen:
            continue
        seen.add((t, label))
        out.append({"text": t, "intent": label, "message": m_id})
    return out


def write_labels(sessions, config) -> int:
    """Rewrite the labels file from the database (committed rows, read under the file lock, so a
    label committed by another process meanwhile is never lost); returns how many lines."""
    path = labels_path(config)
    with _file_lock(path):
        with sessions() as s:
            rows = labelled_examples(s, config)
        if not rows and not path.exists():
            return 0
        atomic_write(path, lambda fh: fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return len(rows)


def label_choices(library) -> list[tuple[str, str]]:
    """(id, name) of every intent of the scenario files, then none."""
    cat = library.catalog
    return [(i, f"{cat.by_id[i].name}（{i}）") for i in cat.intents] + [(NONE, "不是诈骗，也不是问题（none）")]


def intent_name(library, intent: Optional[str]) -> str:
    if not intent:
        return "—"
    if intent == NONE:
        return "无（none）"
    if intent == "clarify":
        return "追问"
    info = library.catalog.by_id.get(intent)
    return info.name if info else intent
