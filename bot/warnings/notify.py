"""The messages about a warning, queued in the caller's transaction (`session=`), so a warning and
the messages about it land together or not at all; the caller commits and the outbox wakes the
sender. The linkage group gets the full details; anyone one to one gets them masked."""
from __future__ import annotations

import logging
from typing import Iterable, Optional

from sqlalchemy.orm import Session

from bot.channels.base import Unreachable
from bot.privacy import mask_phone
from bot.warnings import texts
from bot.warnings.people import linkage_group, liaisons_of

log = logging.getLogger(__name__)


def post(ctx, session: Session, text: str, key: str, mentions: Iterable[str] = (), group: Optional[str] = None) -> None:
    """A post in the linkage group (or `group`), @-mentioning `mentions`."""
    group = group or linkage_group(ctx.config)
    try:
        ctx.outbox.to_group(group, text, dedupe_key=key, mentions=tuple(dict.fromkeys(mentions)), session=session,
                            source=key.split(":")[1] if key.startswith("wn:") else None)
    except Unreachable as e:
        log.warning("%s", e)


def direct(ctx, session: Session, users: Iterable[str], text: str, key: str) -> None:
    """A one-to-one message to members: phone numbers masked."""
    users = [u for u in dict.fromkeys(users) if u]
    if users:
        ctx.outbox.to_members(users, mask_phone(text), dedupe_key=key, session=session)


def card(ctx, session: Session, w, stage: str, users: list[str]) -> None:
    """The sign card or the result card to the station's liaisons."""
    if not users:
        return
    c = texts.card(ctx.config, ctx.library, w, stage)
    ctx.outbox.card_to_members(users, c, dedupe_key=f"wn:{w.number}:card:{c['task_id']}", source=w.number,
                               session=session)


def update_card(ctx, session: Session, w, task_id: str, users: list[str], labels: list[str]) -> None:
    """Every liaison's copy of a card shows who did what (陈警官已签收)."""
    if users:
        ctx.outbox.update_card(users, task_id, labels, dedupe_key=f"wn:{w.number}:update:{task_id}",
                               source=w.number, session=session)


def dispatch(ctx, session: Session, w, reassigned_from: Optional[str] = None) -> None:
    """The post that hands a warning to its station, and the sign card."""
    users = liaisons_of(ctx.config, w)
    post(ctx, session, texts.dispatch_text(ctx.config, ctx.library, w, reassigned_from),
         f"wn:{w.number}:a{w.assignment}:post", mentions=users)
    card(ctx, session, w, "sign", users)
