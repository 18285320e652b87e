"""Models for reaching WeChat residents: customer-group mass-send tasks and their per-group results.

(The official account's access token reuses bot.models.AccessToken under the key "mp:<AppID>".)
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, UTCDateTime, utcnow


class MassSendTask(Base):
    """One enterprise mass-send task (企业群发, externalcontact/add_msg_template, chat_type group).

    WeCom does not send it: it asks `owner` to confirm it on the phone. state:
    queued (outbox row waiting) -> waiting (task created, msgid known, member told) ->
    done (the member sent it; the groups say which got it) | expired (not confirmed in time:
    nothing was sent) | failed (WeCom refused to create the task).
    """
    __tablename__ = "mass_send_task"
    __table_args__ = (Index("ix_mass_send_task_state", "state"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # the outbox dedupe key of the request (campaign slot, warning …): a second request adds nothing
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    owner: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    msgid: Mapped[Optional[str]] = mapped_column(String(128), index=True)
    source: Mapped[Optional[str]] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    task_created_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime)
    finished_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime)
    polled_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime)
    polls: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[Optional[str]] = mapped_column(Text)


class MassSendGroup(Base):
    """Whether one customer group really got a task's message: what coverage and assessment count.

    status: pending (waiting for the member) -> sent (WeCom's send result lists the group) |
    not_sent (the task expired or the member sent it to other groups) | failed (task refused).
    """
    __tablename__ = "mass_send_group"
    __table_args__ = (UniqueConstraint("task_id", "group_id", name="uq_mass_send_task_group"),
                      Index("ix_mass_send_group_group_status", "group_id", "status"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    task_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                         ForeignKey("mass_send_task.id", ondelete="CASCADE"))
    group_id: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    sent_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
