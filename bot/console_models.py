"""Database models of the web console (issue 13): who changed what, the review of residents'
questions, and retraining runs started from the console."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, UTCDateTime, utcnow

_ID = BigInteger().with_variant(Integer, "sqlite")


class ConsoleAction(Base):
    """One change made in the console: who, when, what, on what. Never updated or deleted."""
    __tablename__ = "console_action"
    __table_args__ = (Index("ix_console_action_at", "at"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    userid: Mapped[str] = mapped_column(String(100))
    # e.g. warning.sign, campaign.pause, question.label, model.retrain
    action: Mapped[str] = mapped_column(String(64))
    # what it was done to: a warning number, a campaign name, a message id …
    target: Mapped[str] = mapped_column(String(255), default="")
    detail: Mapped[Optional[dict]] = mapped_column(JSON)


class QuestionReview(Base):
    """A reviewer's word on one resident message: marked wrong, and/or labelled with an intent
    (which then joins the examples, content/examples/)."""
    __tablename__ = "question_review"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("inbound_message.id"), unique=True)
    # staff said the bot's answer was wrong
    marked_wrong_by: Mapped[Optional[str]] = mapped_column(String(100))
    marked_wrong_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime)
    # an intent id of the shared intents, or "none"
    label: Mapped[Optional[str]] = mapped_column(String(32))
    labelled_by: Mapped[Optional[str]] = mapped_column(String(100))
    labelled_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime)
    # the examples file the labelled message was written to
    example_file: Mapped[Optional[str]] = mapped_column(String(255))
    note: Mapped[str] = mapped_column(Text, default="")


class TrainingRun(Base):
    """Retraining the Q&A's word weights from the console: held-out figures first, then a person
    decides whether the new weights are used. state: running -> trained | failed; trained -> applied |
    discarded."""
    __tablename__ = "training_run"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    started_by: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), default="running")
    examples: Mapped[Optional[int]] = mapped_column(Integer)
    # held-out figures (accuracy, none kept, fraud answered none, per file …)
    figures: Mapped[Optional[dict]] = mapped_column(JSON)
    # where the new weights wait until applied
    weights_path: Mapped[Optional[str]] = mapped_column(String(500))
    decided_by: Mapped[Optional[str]] = mapped_column(String(100))
    decided_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime)
    error: Mapped[Optional[str]] = mapped_column(Text)
