"""Reply texts built from the library for a Match.

Group replies fit a phone screen (MAX_REPLY characters of visible text). Plain text
for WeChat users; ``markdown=True`` adds WeCom markdown (bold, > quote, warning colour)
for WeCom members. 96110 is the warning/advice line; crimes are reported on 110.
"""
from __future__ import annotations

import re

from . import markup
from .library import NONE, Library

MAX_REPLY = 300

FOOTER = "拿不准打96110咨询；已被骗立即打110报警。"
UNSURE = "不确定，先别转钱。"
APP_96110 = "接到96110来电要接听（号码前带00或+的是冒充）；报警请打110。"
FOLLOW_UP = "回复“案例”看例子，“怎么办”看防范办法。"
_CIRCLED = "①②③④⑤⑥⑦⑧"

def help_line(lib: Library) -> str:
    """One line: what the bot can be asked about (every intent of the library by its short name)."""
    topics = "、".join(lib.scenarios[i].short for i in lib.intents if i in lib.scenarios)
    return f"可以问我：{topics}，也可以把可疑短信转给我。拿不准打96110咨询，被骗立即打110报警。"


visible_len = markup.visible_len


def _bold(text: str, md: bool) -> str:
    return markup.bold(text) if md else f"【{text}】"


def _warn(text: str, md: bool) -> str:
    return markup.warn(text) if md else text


def _evidence_line(evidence: list[str], md: bool, limit: int = 3) -> str:
    items = [f"「{markup.untappable(e)}」" for e in evidence[:limit]]
    if not items:
        return ""
    line = "发现：" + "".join(items)
    return markup.quote(line) if md else line


def _flags(flags: list[str], n: int, md: bool) -> str:
    chosen = flags[:n]
    if md:
        return "识别要点：\n" + "\n".join(f"{i}. {f}" for i, f in enumerate(chosen, 1))
    return "识别：" + "；".join(f"{_CIRCLED[i]}{f}" for i, f in enumerate(chosen))


_PAIRS = re.compile(r"(?=([\u4e00-\u9fff]{2}))")


def _pairs(text: str) -> set[str]:
    return set(_PAIRS.findall(text))


def pick_flags(flags: list[str], text: str, n: int) -> list[str]:
    """The n red flags that share most character pairs (two or more) with what the resident wrote;
    file order breaks ties, so a message that matches none of them gets the first ones."""
    seen = _pairs(text)

    def shared(flag: str) -> int:
        k = len(_pairs(flag) & seen)
        return k if k >= 2 else 0  # one common pair ("电话") is chance

    ranked = sorted(range(len(flags)), key=lambda i: (-shared(flags[i]), i))
    return [flags[i] for i in ranked[:n]]


def _fit(build, options) -> str:
    """First built text (from most to least detailed) whose visible length fits the budget."""
    text = ""
    for opt in options:
        text = build(*opt)
        if visible_len(text) <= MAX_REPLY:
            return text
    return text[:MAX_REPLY]


def answer_for(r, lib: Library, markdown: bool = False) -> str:
    """The group / one-to-one reply for a Match; "" for none (the caller decides on help_line())."""
    md = markdown
    if r is None or r.intent == NONE or r.intent not in lib.scenarios:
        return ""
    if getattr(r, "situation", None) is not None:
        return _situation_reply(r, lib, md)
    if r.clarify:
        a, b = (lib.scenarios[i] for i in r.clarify)
        return (f"{UNSURE}您说的是「{a.short}」还是「{b.short}」？再说一句具体情况，比如对方让您做什么，我好细说。"
                f"{FOOTER}")
    sc = lib.scenarios[r.intent]
    text = getattr(r, "text", "") or ""
    if getattr(r, "suspect", False) and sc.ask:
        flag = pick_flags(sc.red_flags, text, 1)[0]
        lines = [_bold(UNSURE, md) if md else UNSURE,
                 f"听着有点像「{sc.short}」：{sc.ask}",
                 _warn("留意：" + flag, md),
                 FOOTER]
        return "\n".join(lines)

    if sc.id == "after_scam":
        def build(n_steps, with_summary):
            steps = sc.first_steps[:n_steps]
            lines = [_bold(sc.name, md)]
            if with_summary:
                lines.append("先做这几件事：")
            if md:
                lines += [f"{i}. {s}" for i, s in enumerate(steps, 1)]
            else:
                lines += [f"{_CIRCLED[i]}{s}" for i, s in enumerate(steps)]
            lines.append(_warn("当心“交钱帮你追回损失”的二次诈骗。", md))
            lines.append("96110是咨询专线，报案请打110。回复“怎么办”看更多。")
            return "\n".join(lines)
        return _fit(build, [(4, True), (4, False)])

    if sc.id == "app":
        def build(n_flags, with_summary):
            lines = [_bold(sc.name, md)]
            if with_summary:
                lines.append(sc.summary)
            lines.append(sc.now)
            lines.append(_flags(sc.red_flags, n_flags, md).replace("识别要点：", "注意：").replace("识别：", "注意："))
            lines.append(APP_96110)
            return "\n".join(lines)
        return _fit(build, [(3, True), (2, True), (2, False), (1, False)])

    forwarded = r.forwarded and bool(r.evidence)
    flags = pick_flags(sc.red_flags, text, len(sc.red_flags))

    def build(n_flags, with_summary, with_follow):
        lines = []
        if forwarded:
            head = f"这很可能是{sc.name}" if sc.name.endswith(("诈骗", "敲诈")) else f"这很可能是{sc.name}诈骗"
            lines.append(_bold(head, md) if md else head + "。")
            lines.append(_evidence_line(r.evidence, md))
        else:
            lines.append(_bold(sc.name, md) + "：很可能是骗局。")
            if with_summary:
                lines.append(sc.summary)
        lines.append(_flags(flags, n_flags, md))
        lines.append(_warn("现在：" + sc.now, md))
        lines.append(FOOTER + (FOLLOW_UP if with_follow else ""))
        return "\n".join(line for line in lines if line)

    return _fit(build, [(3, True, True), (3, False, True), (2, True, True), (2, False, True),
                        (2, False, False), (1, False, False)])


def decision(r, lib: Library) -> str:
    """What the reply to a Match does, as the console's review records it (inbound_message.decision):
    ``answer`` (names a type, or a situation's fixed answer), ``ask`` (asks back between two types),
    ``suspect`` (names a suspicion and asks), ``none`` (no answer: the caller gives the help line)."""
    if r is None or r.intent == NONE or r.intent not in lib.scenarios:
        return "none"
    if getattr(r, "situation", None) is not None:
        return "answer"
    if r.clarify:
        return "ask"
    if getattr(r, "suspect", False) and lib.scenarios[r.intent].ask:
        return "suspect"
    return "answer"


def _situation_reply(r, lib: Library, md: bool) -> str:
    """A situation's fixed opening, then (when the message is a fraud type of its own, e.g.
    screen sharing asked by a fake 客服) that type and the red flags the message matches."""
    st = r.situation
    sc = lib.scenarios[r.intent]
    text = getattr(r, "text", "") or ""

    def build(n_flags):
        lines = [_warn(_bold(st.say, md) if md else st.say, md)]
        if not r.by_situation and sc.kind == "fraud" and n_flags:
            lines.append(f"这像是{sc.name}。" + _flags(pick_flags(sc.red_flags, text, n_flags), n_flags, False))
        # the opening may already name both numbers
        both = "96110" in st.say and "110" in st.say.replace("96110", "")
        lines.append(FOLLOW_UP if both else FOOTER + FOLLOW_UP)
        return "\n".join(lines)

    return _fit(build, [(2,), (1,), (0,)])


def case_for(intent: str, lib: Library, markdown: bool = False) -> str:
    """The follow-up "案例" answer."""
    sc = lib.scenarios.get(intent)
    if sc is None:
        return ""
    md = markdown
    lines = [_bold(f"{sc.short}案例", md), sc.case]
    if sc.id == "after_scam":
        lines.append(_warn("记住：" + sc.now, md))
    else:
        lines.append(_warn("识别要点：" + sc.red_flags[0], md))
        lines.append(FOOTER)
    lines.append("（案例为根据常见手法编写的示例）")
    return "\n".join(lines)


def advice_for(intent: str, lib: Library, markdown: bool = False) -> str:
    """The follow-up "怎么办" answer: the full advice."""
    sc = lib.scenarios.get(intent)
    if sc is None:
        return ""
    md = markdown
    items = (sc.first_steps + sc.advice) if sc.id == "after_scam" else list(sc.advice)
    lines = [_bold(f"{sc.short}：怎么办", md)]
    lines += [f"{i}. {a}" for i, a in enumerate(items, 1)]
    if not any("110" in a.replace("96110", "") for a in items):
        lines.append(FOOTER)
    return "\n".join(lines)
