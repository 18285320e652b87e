"""Phone numbers of victims never reach a log line unmasked."""
import logging

from bot.privacy import MaskingFilter, mask_name, mask_phone


def test_mask_phone_and_name():
    assert mask_phone("受害人13812345678，备用15900001111") == "受害人138****5678，备用159****1111"
    assert mask_phone("订单号2013812345678999") == "订单号2013812345678999"   # inside a longer number: not a phone
    assert mask_name("张三") == "张某" and mask_name("") == ""


def test_log_records_are_masked(caplog):
    log = logging.getLogger("test.privacy")
    log.addFilter(MaskingFilter())
    with caplog.at_level(logging.INFO):
        log.info("预警对象电话 %s 已下发", "13912345678")
    assert "139****5678" in caplog.text and "13912345678" not in caplog.text


def test_every_phone_form_a_warning_takes_is_masked():
    assert mask_phone("座机0731-84567890，或 010 8456 7890、073184567890") == \
        "座机0731-****7890，或 010 **** 7890、0731****7890"
    assert mask_phone("+8613812345678 / 138 1234 5678 / 138-1234-5678") == \
        "+86138****5678 / 138 **** 5678 / 138-****-5678"
    assert mask_phone("YJ-20261128-001 于 2026-12-04") == "YJ-20261128-001 于 2026-12-04"


def test_a_traceback_and_an_exception_text_are_masked_too():
    import io
    from bot.privacy import MaskingFormatter
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(MaskingFormatter("%(message)s"))
    log = logging.getLogger("test.privacy.tb")
    log.addHandler(handler)
    try:
        raise ValueError("insert failed for 13812345678 at 0731-84567890")
    except ValueError:
        log.exception("could not save the warning")
    text = out.getvalue()
    assert "Traceback" in text and "138****5678" in text and "0731-****7890" in text
    assert "13812345678" not in text and "84567890" not in text


def test_a_database_error_does_not_quote_the_values(db_url):
    import pytest
    from sqlalchemy.exc import IntegrityError
    from bot.db import make_engine, session_factory, session_scope
    from bot.models import OutboxMessage
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    row = dict(dedupe_key="dup", channel="app", target="13812345678", msgtype="text", payload={"text": "张三"})
    with session_scope(sessions) as s:
        s.add(OutboxMessage(**row))
    with pytest.raises(IntegrityError) as e:
        with session_scope(sessions) as s:
            s.add(OutboxMessage(**row))
    assert "13812345678" not in str(e.value) and "张三" not in str(e.value)
    engine.dispose()
