"""Masking of victims' phone numbers and names outside the linkage group, and a log filter."""
from __future__ import annotations

import logging
import re
import sys

# a mobile number, also written +86 138 1234 5678 or 138-1234-5678
_MOBILE = re.compile(r"(?<![\d+])((?:\+?86[ -]?)?1[3-9]\d)([ -]?)(\d{4})([ -]?)(\d{4})(?!\d)")
# a landline with its area code (0731-84567890, 073184567890, 010 8456 7890): every form a warning takes
_LANDLINE = re.compile(r"(?<![\d+])(0\d{2,3})([ -]?)(\d{3,4})([ -]?)(\d{4})(?!\d)")


def mask_phone(text: str) -> str:
    """138****5678 and 0731-****7890 for every mobile and landline number in text."""
    text = _MOBILE.sub(lambda m: f"{m.group(1)}{m.group(2)}****{m.group(4)}{m.group(5)}", text or "")
    return _LANDLINE.sub(lambda m: f"{m.group(1)}{m.group(2)}****{m.group(4)}{m.group(5)}", text)


def mask_name(name: str) -> str:
    """张某 for 张三; empty stays empty."""
    name = (name or "").strip()
    return f"{name[0]}某" if name else ""


class MaskingFilter(logging.Filter):
    """Masks phone numbers in a log record's message, whatever logged it (the exception text is
    masked by MaskingFormatter, which sees the whole line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        masked = mask_phone(msg)
        if masked != msg:
            record.msg, record.args = masked, None
        return True


class MaskingFormatter(logging.Formatter):
    """Masks phone numbers in the whole formatted record: the message, the traceback, the exception's
    text (a database error quotes the statement; the engine is told to hide its parameters)."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_phone(super().format(record))


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
        handler.setFormatter(MaskingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(MaskingFilter())
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # one line per job run (the escalation sweep runs every 30 s) buries what matters
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
