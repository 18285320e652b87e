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
