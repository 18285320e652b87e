"""Resident Q&A: name the fraud type with red flags and what to do, or say nothing wrong.

Follow-ups: within a few minutes of an answer, 案例 / 怎么办 (or 1 / 2) in the same chat give
the case or the full advice for that intent, always. Past a member's answers a minute in a group
(qa.group_answers_per_minute), an answer waits its turn in the outbox, and the bot says so once.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Optional

from sqlalchemy import select

from bot.core.context import Context
from bot.core.message import Message, Reply
from bot.core.router import Handler
from bot.db import utcnow
from bot.models import InboundMessage
from content import answers

FOLLOW_CASE = re.compile(r"^(案例|例子|举个例子|有啥例子|1|１)[。.!！?？]*$")
FOLLOW_ADVICE = re.compile(r"^(怎么办|咋办|该怎么办|那咋办|咋整|防范办法|2|２)[。.!！?？]*$")
NOT_AN_ANSWER = ("none", "clarify")
LATER_NOTICE = "收到。您一分钟内问得较多，我按顺序一会儿回答您。急事请直接打110，拿不准可打96110咨询。"


class AskHandler(Handler):
    name = "ask"
    quick = True
    reads_only = True
    summary = "直接@我描述情况或转发可疑短信"
    priority = 90

    def accepts(self, msg: Message, ctx: Context) -> bool:
        return msg.msg_type in ("text", "mixed", "quote") and not msg.event

    def handle(self, msg: Message, ctx: Context, args: str = "") -> list[Reply]:
        text = msg.text.strip()
        lib = ctx.library
        follow = FOLLOW_CASE.match(text) and "case" or FOLLOW_ADVICE.match(text) and "advice"
        if follow:
            intent = self._last_intent(msg, ctx)
            if intent:           # a follow-up the bot itself invited is always answered, at once
                body = answers.case_for if follow == "case" else answers.advice_for
                return [Reply(body(intent, lib), rich=body(intent, lib, True), intent=intent, decision="follow")]
        replies = self.answer(text, ctx)
        wait = self._wait(msg, ctx) if msg.is_group else None
        if wait is None:
            return replies
        # past the member's answers a minute in a group: the answer waits its turn (said once)
        later, first = wait
        deferred = [dataclasses.replace(r, after=later) for r in replies]
        return ([Reply(LATER_NOTICE)] if first else []) + deferred

    @staticmethod
    def answer(text: str, ctx: Context) -> list[Reply]:
        lib = ctx.library
        if not text:
            return [Reply(answers.help_line(lib), intent="none", decision="none")]
        match = ctx.matcher.match(text)
        answer = answers.answer_for(match, lib)
        score = round(float(match.score), 4)
        if not answer:
            return [Reply(answers.help_line(lib), intent="none", score=score, decision="none")]
        # both forms: the channel shows the rich one to readers who see emphasis (WeCom members)
        return [Reply(answer, rich=answers.answer_for(match, lib, markdown=True),
                      intent="clarify" if match.clarify else match.intent, score=score,
                      decision=answers.decision(match, lib))]

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

    def _wait(self, msg: Message, ctx: Context) -> Optional[tuple[dt.datetime, bool]]:
        """None while the member is within their answers a minute in this group; past it, when this
        answer may go (a minute after the answer it replaces in the window) and whether it is the
        first one over (the one that says so)."""
        limit = ctx.config.qa.group_answers_per_minute
        since = utcnow() - dt.timedelta(minutes=1)
        with ctx.sessions() as s:
            # the latest limit + 1 only: a member who floods a group must not make each answer dearer
            latest = list(s.scalars(select(InboundMessage.received_at)
                                    .where(InboundMessage.chat_id == msg.chat_id, InboundMessage.sender == msg.sender,
                                           InboundMessage.received_at >= since, InboundMessage.intent.is_not(None))
                                    .order_by(InboundMessage.received_at.desc()).limit(limit + 1)))
        if len(latest) < limit:
            return None
        return latest[limit - 1] + dt.timedelta(minutes=1), len(latest) == limit
