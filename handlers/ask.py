"""Resident Q&A: name the fraud type with red flags and what to do, or say nothing wrong.

Follow-ups: within a few minutes of an answer, 案例 / 怎么办 (or 1 / 2) in the same chat give
the case or the full advice for that intent. Answers per member in a group are limited.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Optional

from sqlalchemy import func, select

from bot.core.context import Context
from bot.core.message import Message, Reply
from bot.core.router import Handler
from bot.models import InboundMessage
from content import answers

FOLLOW_CASE = re.compile(r"^(案例|例子|举个例子|有啥例子|1|１)[。.!！?？]*$")
FOLLOW_ADVICE = re.compile(r"^(怎么办|咋办|该怎么办|那咋办|咋整|防范办法|2|２)[。.!！?？]*$")
NOT_AN_ANSWER = ("none", "clarify")


class AskHandler(Handler):
    name = "ask"
    summary = "直接@我描述情况或转发可疑短信"
    priority = 90

    def accepts(self, msg: Message, ctx: Context) -> bool:
        return msg.msg_type in ("text", "mixed", "quote") and not msg.event

    def handle(self, msg: Message, ctx: Context, args: str = "") -> list[Reply]:
        text = msg.text.strip()
        lib = ctx.library
        if msg.is_group and self._over_limit(msg, ctx):
            return []
        follow = FOLLOW_CASE.match(text) and "case" or FOLLOW_ADVICE.match(text) and "advice"
        if follow:
            intent = self._last_intent(msg, ctx)
            if intent:
                body = answers.case_for if follow == "case" else answers.advice_for
                return [Reply(body(intent, lib), rich=body(intent, lib, True), intent=intent)]
        if not text:
            return [Reply(answers.help_line(lib), intent="none")]
        match = ctx.matcher.match(text)
        answer = answers.answer_for(match, lib)
        if not answer:
            return [Reply(answers.help_line(lib), intent="none")]
        # both forms: the channel shows the rich one to readers who see emphasis (WeCom members)
        return [Reply(answer, rich=answers.answer_for(match, lib, markdown=True),
                      intent="clarify" if match.clarify else match.intent)]

    # --- per chat memory, kept in the inbox table so every worker process sees it ----------
    @staticmethod
    def _chat_filter(msg: Message):
        if msg.is_group:
            return InboundMessage.chat_id == msg.chat_id
        return (InboundMessage.chat_id.is_(None)) & (InboundMessage.sender == msg.sender) & \
            (InboundMessage.channel == msg.channel)

    def _last_intent(self, msg: Message, ctx: Context) -> Optional[str]:
        since = ctx.clock() - dt.timedelta(minutes=ctx.config.qa.follow_up_minutes)
        with ctx.sessions() as s:
            intent = s.scalar(select(InboundMessage.intent)
                              .where(self._chat_filter(msg), InboundMessage.received_at >= since,
                                     InboundMessage.intent.is_not(None), InboundMessage.intent.not_in(NOT_AN_ANSWER))
                              .order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc()).limit(1))
        return intent

    def _over_limit(self, msg: Message, ctx: Context) -> bool:
        since = ctx.clock() - dt.timedelta(minutes=1)
        with ctx.sessions() as s:
            n = s.scalar(select(func.count()).select_from(InboundMessage)
                         .where(InboundMessage.chat_id == msg.chat_id, InboundMessage.sender == msg.sender,
                                InboundMessage.received_at >= since, InboundMessage.intent.is_not(None)))
        return n >= ctx.config.qa.group_answers_per_minute
