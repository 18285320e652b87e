"""Models of scheduled rebroadcast campaigns: the delivery log, a campaign's paused state, and the
runs started by hand (run now) keyed by the request that asked for them."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, UTCDateTime, utcnow


class CampaignDelivery(Base):
    """What one campaign slot did for one group; unique per (campaign, slot, group).

    state: queued (an outbox row exists: sent or failed is the outbox row's final state),
    unreachable (no channel the bot may push into), quiet (slot inside quiet hours),
    missed (the service was down past the grace time), failing (the group's pushes keep
    failing permanently), empty (nothing in the pool for this group), paused (the campaign
    was paused when its scheduled slot came).
    """
    __tablename__ = "campaign_delivery"
    __table_args__ = (UniqueConstraint("campaign", "slot", "group_id", name="uq_campaign_slot_group"),
                      Index("ix_campaign_delivery_group_slot", "group_id", "slot"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    campaign: Mapped[str] = mapped_column(String(40))
    slot: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    group_id: Mapped[str] = mapped_column(String(64))
    item_id: Mapped[Optional[str]] = mapped_column(String(80))
    intent: Mapped[Optional[str]] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[Optional[str]] = mapped_column(Text)
    outbox_key: Mapped[Optional[str]] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CampaignState(Base):
    """A campaign paused or resumed by #推送 暂停 / 恢复 (config says whether it exists at all)."""
    __tablename__ = "campaign_state"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_by: Mapped[Optional[str]] = mapped_column(String(100))
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CampaignRun(Base):
    """A slot run by hand ("run now" in the console), unique per request: the same form sent twice
    (a double click, a resent POST) finds this row and runs nothing again."""
    __tablename__ = "campaign_run"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # the request's key, e.g. console:<form id>
    key: Mapped[str] = mapped_column(String(100), unique=True)
    campaign: Mapped[str] = mapped_column(String(40))
    slot: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # what the slot did, as SlotResult.summary() says it
    summary: Mapped[Optional[str]] = mapped_column(Text)
