"""Pictures residents send: read what the picture says, then answer as the Q&A answers text.

The answer says in one line what was read (图里写着：…), then the Q&A's verdict and advice for that
text, then the phone numbers, links, accounts and QR codes found in the picture, named as evidence
(numbers masked, links made untappable). A picture it cannot read gets a short request for a
clearer picture or the text. Reading is slow (about a second): the inbox says 正在识别 at once and
sends the answer when it is ready. Pictures are not kept unless `pictures.keep_dir` says so.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path
from typing import Optional

from sqlalchemy import func, select, update

from bot.channels.base import PictureUnavailable
from bot.core.context import Context
from bot.core.message import Message, Reply
from bot.core.router import Handler
from bot.db import session_scope, utcnow
from bot.models import InboundMessage
from bot.pictures import Reading, Refused, defang, find_evidence, gist, image_format, tail
from bot.privacy import mask_phone
from content import answers
from content.matcher import Match

log = logging.getLogger(__name__)

# pictures read from one message (WeCom's mixed messages carry up to a few)
MAX_PICTURES = 3

PENDING = "收到图片，正在识别，请稍等…"
BUSY = "现在要看的图片较多，这张先不看了。请过几分钟再发，或把图里的文字复制发给我。急事请直接打110。"
TOO_MANY = ("您一分钟内发的图片较多，这张先不看了。请过一分钟再发，或把图里的文字复制发给我。"
            "急事请直接打110。")
UNREADABLE = "这张图没看清文字。请发一张更清楚的截图，或把图里的文字复制发给我。"
NOTHING_FOUND = "没看出是哪类诈骗。"
CUT = "（图里字太多，只看了前面一部分）"
REFUSED = {
    "too_big": "图片太大（超过{mb}MB），请截取有文字的部分再发，或把文字复制发给我。",
    "too_many_pixels": "图片太大，请截取有文字的部分再发，或把文字复制发给我。",
    "not_image": "这个文件不是图片，我看不了。请发截图，或把文字复制发给我。",
    "corrupt": "这张图片打不开，可能没发完整。请重新发一次，或把文字复制发给我。",
    "gone": "图片没能取到（可能已过期），请重新发一次。",
    "network": "图片暂时没能下载下来，请过一会儿重新发一次。",
    "no_reader": "我这里暂时不能看图片，请把图里的文字复制发给我。急事请直接打110。",
}
QR_WORDS = {
    "payment": "图中二维码是付款码：陌生人给的付款码别扫。",
    "download": "图中二维码指向下载：别扫码装APP，只从手机自带应用商店下载。",
    "link": "图中二维码指向 {link}：不认识的二维码别扫。",
}


class PictureHandler(Handler):
    name = "picture"
    summary = "发截图给我看"
    priority = 20
    heavy = True
    pending = PENDING
    busy = BUSY

    def accepts(self, msg: Message, ctx: Context) -> bool:
        return bool(msg.pictures) and not msg.event

    def at_once(self, msg: Message, ctx: Context) -> Optional[list[Reply]]:
        """Past a resident's pictures a minute (counted over every chat and channel): refused."""
        since = utcnow() - dt.timedelta(minutes=1)
        with ctx.sessions() as s:
            sent = s.scalar(select(func.count()).select_from(InboundMessage).where(
                InboundMessage.channel == msg.channel, InboundMessage.sender == msg.sender,
                InboundMessage.msg_type == "image", InboundMessage.received_at >= since))
        if sent > ctx.config.pictures.per_minute:
            return [Reply(TOO_MANY, intent="none", decision="limited")]
        return None

    def handle(self, msg: Message, ctx: Context, args: str = "") -> list[Reply]:
        readings: list[Reading] = []
        for i, ref in enumerate(msg.pictures[:MAX_PICTURES]):
            try:
                data = ctx.channels.fetch_picture(msg, ref, ctx.config.pictures.max_bytes)
                self._keep(msg, i, data, ctx)
                readings.append(ctx.reader.read(data))
            except (PictureUnavailable, Refused) as e:
                log.info("picture %d of %s not read: %s (%s)", i, msg.dedupe_key, e.code, e)
                if len(msg.pictures) == 1 and not msg.text.strip():
                    return [Reply(refusal(e.code, ctx), intent="none", decision="unread")]
        self._record(msg, readings, ctx)
        return [answer(msg.text, readings, ctx.library, ctx.matcher)[0]]

    @staticmethod
    def _record(msg: Message, readings: list[Reading], ctx: Context) -> None:
        """The recognised text is kept with the message, like any text a resident sends."""
        read = "\n".join(r.text for r in readings if r.lines)
        if not read:
            return
        with session_scope(ctx.sessions) as s:
            s.execute(update(InboundMessage).where(InboundMessage.channel == msg.channel,
                                                   InboundMessage.dedupe_key == msg.dedupe_key)
                      .values(text="\n".join(x for x in (msg.text.strip(), f"[图片文字] {read}") if x)))

    @staticmethod
    def _keep(msg: Message, i: int, data: bytes, ctx: Context) -> None:
        folder = ctx.config.pictures.keep_dir
        if not folder:
            return
        base = Path(folder)
        if not base.is_absolute() and ctx.config.source:
            base = Path(ctx.config.source).parent / base
        day = ctx.clock().strftime("%Y-%m-%d")
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{msg.channel}-{msg.dedupe_key}-{i}")[:120]
        path = base / day / f"{name}.{image_format(data) or 'bin'}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def refusal(code: str, ctx: Context) -> str:
    return REFUSED.get(code, REFUSED["corrupt"]).format(mb=ctx.config.pictures.max_bytes // (1024 * 1024))


def answer(words: str, readings: list[Reading], lib, matcher) -> tuple[Reply, Optional[Match]]:
    """The reply to a message with pictures (what was read, the Q&A's answer, the evidence), and the
    Q&A's match of the words and the pictures' text (None when nothing was read)."""
    read = [r for r in readings if not r.empty]
    if not read and not words.strip():
        return Reply(UNREADABLE, intent="none", decision="unread"), None
    text = "\n".join(x for x in [words.strip()] + [r.text for r in read] if x)
    qr = tuple(q for r in read for q in r.qr)
    match = matcher.match(text)
    plain, rich = answers.answer_for(match, lib), answers.answer_for(match, lib, markdown=True)
    intent = "clarify" if match.clarify else match.intent
    decision = answers.decision(match, lib)
    head = [seen_line(read)] if read else []
    if not plain:
        plain = rich = NOTHING_FOUND + answers.FOOTER
        intent, decision = "none", "none"
    tail_lines = evidence_lines(text, qr)
    plain_out = "\n".join(head + [plain] + tail_lines)
    rich_out = "\n".join([f"> {h}" for h in head] + [rich] + tail_lines)
    return Reply(plain_out, rich=rich_out, intent=intent, score=round(float(match.score), 4), decision=decision), match


def seen_line(read: list[Reading]) -> str:
    first = read[0]
    words = gist(first) if first.lines else "（只有二维码）"
    return f"图里写着：“{words}”" + (CUT if any(r.cut for r in read) else "")


def evidence_lines(text: str, qr: tuple[str, ...]) -> list[str]:
    """The picture's contacts and links, named so the resident knows what not to call, open or add."""
    ev = find_evidence(text, qr)
    named = [f"电话{mask_phone(p)}（别回拨）" for p in ev.phones[:2]]
    named += [f"链接{defang(x)}（别点）" for x in ev.links[:2]]
    named += [f"账号{tail(a)}（别转钱）" for a in ev.accounts[:2]]
    named += [f"QQ{q}（别加）" for q in ev.qq[:1]] + [f"微信{w}（别加）" for w in ev.wechat[:1]]
    lines = []
    if named:
        lines.append("图中" + "；".join(named) + "。")
    for kind, payload in ev.qr[:2]:
        lines.append(QR_WORDS[kind].format(link=defang(payload)))
    return lines
