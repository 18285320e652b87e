"""Escalation: the steps of config.warnings.steps(), counted from the dispatch (or the last #转派).

A step is taken once per warning and assignment (a unique event row), so a sweep that runs twice,
after a restart or on another process, sends nothing twice; a sweep after downtime takes every
step that fell due. Each step is checked on its own: a step due earlier than the first reminder
(a short result limit, say) still fires.
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.warnings import notify, texts
from bot.warnings.models import ISSUED, SIGNED, Warning
from bot.warnings.people import audience

log = logging.getLogger(__name__)

# a step waits for the signature (until=signed) or for a result (until=result)
WAITING = {"signed": (ISSUED,), "result": (ISSUED, SIGNED)}


def due_steps(policy, w: Warning, now: dt.datetime) -> list:
    """The steps of `policy` (config.warnings) due for this warning at `now`, earliest first."""
    elapsed = now - w.dispatched_at
    return [st for st in policy.steps()
            if w.level in st.levels and w.state in WAITING[st.until]
            and elapsed >= dt.timedelta(minutes=st.after_minutes)]


def next_step(policy, w: Warning, now: dt.datetime):
    """The next escalation step still ahead for this warning at `now`, and when it falls due:
    (step, due_at), or None when nothing more will escalate it (signed and reported, or closed)."""
    ahead = [(st, w.dispatched_at + dt.timedelta(minutes=st.after_minutes)) for st in policy.steps()
             if w.level in st.levels and w.state in WAITING[st.until]]
    ahead = [(st, due) for st, due in ahead if due > now]
    return min(ahead, key=lambda x: x[1]) if ahead else None


def sweep(session: Session, ctx, now: dt.datetime) -> list[tuple[str, str]]:
    """Take every escalation step that is due and not yet taken; → [(number, step)] taken now."""
    policy = ctx.config.warnings
    steps = policy.steps()
    if not steps:
        return []
    earliest = now - dt.timedelta(minutes=min(st.after_minutes for st in steps))
    taken = []
    rows = session.scalars(select(Warning).where(Warning.state.in_((ISSUED, SIGNED)),
                                                 Warning.dispatched_at <= earliest).order_by(Warning.id))
    for w in list(rows):
        for step in due_steps(policy, w, now):
            if w.take_step(session, step.key, texts.STEP_EVENTS[step.kind], now) is None:
                continue
            _messages(ctx, session, w, step, now)
            taken.append((w.number, step.key))
            log.info("warning %s: escalation step a%d:%s", w.number, w.assignment, step.key)
    return taken


def _messages(ctx, session: Session, w: Warning, step, now: dt.datetime) -> None:
    config = ctx.config
    key = f"wn:{w.number}:a{w.assignment}:{step.key}"
    post, direct = texts.step_texts(config, w, step, now)
    notify.post(ctx, session, post, key + ":post", mentions=audience(config, w, list(step.notify)))
    notify.direct(ctx, session, audience(config, w, list(step.direct)), direct, key + ":dm")
