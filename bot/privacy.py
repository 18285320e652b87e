"""Masking of victims' phone numbers and names outside the linkage group, and a log filter."""
from __future__ import annotations

import logging
import re
import sys

_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def mask_phone(text: str) -> str:
    """138****5678 for every mainland mobile number in text."""
    return _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text or "")


def mask_name(name: str) -> str:
    """张某 for 张三; empty stays empty."""
    name = (name or "").strip()
    return f"{name[0]}某" if name else ""


class MaskingFilter(logging.Filter):
    """Masks phone numbers in every log record, whatever logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        masked = mask_phone(msg)
        if masked != msg:
            record.msg, record.args = masked, None
        return True


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (a test runner swaps it; a thread may log later)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def setup_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if not any(isinstance(f, MaskingFilter) for h in root.handlers for f in h.filters):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(MaskingFilter())
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # one line per job run (the escalation sweep runs every 30 s) buries what matters
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
