"""Database models of case statistics and assessment (issue 7): cases, victim follow-ups, pledges."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, UTCDateTime, utcnow

_ID = BigInteger().with_variant(Integer, "sqlite")


class FraudCase(Base):
    """One reported fraud case, unique per case number (案件编号): a re-import updates it.

    `month` (YYYY-MM) and `age_group` are derived on import (in the service's timezone) so that
    the statistics group by plain columns in SQL on every database.
    """
    __tablename__ = "fraud_case"
    __table_args__ = (Index("ix_fraud_case_occurred", "occurred_at"),
                      Index("ix_fraud_case_type_occurred", "fraud_type", "occurred_at"))

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    case_no: Mapped[str] = mapped_column(String(64), unique=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    month: Mapped[str] = mapped_column(String(7))
    township: Mapped[str] = mapped_column(String(32))
    # an intent id of the shared intents (shuadan, touzi …); type_label is what the file said
    fraud_type: Mapped[str] = mapped_column(String(32))
    type_label: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(Text, default="")
    victim_age: Mapped[Optional[int]] = mapped_column(Integer)
    # <18, 18-40, 41-65, >65, 未知
    age_group: Mapped[str] = mapped_column(String(8))
    occupation: Mapped[str] = mapped_column(String(32), default="")
    gender: Mapped[str] = mapped_column(String(4), default="")
    # the loss in fen (1/100 yuan): whole numbers add up exactly
    loss_fen: Mapped[int] = mapped_column(BigInteger)
    channel: Mapped[str] = mapped_column(String(32), default="")
    source: Mapped[Optional[str]] = mapped_column(String(200))
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseFollowUp(Base):
    """A victim follow-up (回访): who called or visited, when, how, and what came of it."""
    __tablename__ = "case_follow_up"
    __table_args__ = (UniqueConstraint("source_ref", name="uq_case_follow_up_source_ref"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    case_id: Mapped[int] = mapped_column(_ID, ForeignKey("fraud_case.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    by: Mapped[str] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(16), default="电话")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # the message it came from (`#回访` in the linkage group): the same message twice records it once
    source_ref: Mapped[Optional[str]] = mapped_column(String(255))


class HouseholdPledge(Base):
    """Households that signed the anti-fraud pledge (承诺书), reported by a grid worker for a unit.

    source_ref: the message it came from (`#承诺书` in a group) or `cli:<uuid>`; a retried
    message records nothing twice.
    """
    __tablename__ = "household_pledge"
    __table_args__ = (Index("ix_household_pledge_unit_at", "unit", "recorded_at"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    unit: Mapped[str] = mapped_column(String(64))
    households: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    source_ref: Mapped[str] = mapped_column(String(255), unique=True)
