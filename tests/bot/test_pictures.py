"""Reading pictures: the checks before decoding, OCR and QR codes on pictures drawn with the shipped
CJK font, the time cap, the evidence a reply names, and the intelligent bot's file encryption."""
import pytest

from bot.channels.crypto import decrypt_file
from bot.pictures import Reader, Refused, defang, find_evidence, gist, inspect
from bot.simulator.crypto import WeComCrypto
from tests import drawing

KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
SMS = ("【顺丰速运】您好，您的快递在运输途中丢失，我司将为您办理三倍理赔，请添加理赔客服QQ：2873456612，"
       "或点击 http://sf-lp.cc/a8 办理，客服电话13812345678")


@pytest.fixture(scope="module")
def ocr_reader():
    return Reader(max_bytes=10 * 1024 * 1024, max_pixels=40_000_000, seconds=20.0)


def test_an_sms_screenshot_is_read_line_by_line_and_joined_across_the_wraps(ocr_reader):
    r = ocr_reader.read(drawing.sms_screenshot(SMS))
    assert len(r.lines) >= 4 and not r.cut and r.width == 720
    assert "顺丰速运" in r.text and "三倍理赔" in r.text
    ev = find_evidence(r.text, r.qr)
    # a link and a number that the phone wrapped onto two lines are found whole
    assert ev.links == ["http://sf-lp.cc/a8"] and ev.qq == ["2873456612"] and ev.phones == ["13812345678"]


def test_a_chat_screenshot_gives_the_bank_card_number_in_it(ocr_reader):
    r = ocr_reader.read(drawing.chat_screenshot([("them", "请把钱转到安全账户，银行卡号6222 0212 3456 7890 123"),
                                             ("me", "好的我马上去")]))
    assert "安全账户" in r.text
    assert find_evidence(r.text).accounts == ["6222021234567890123"]


@pytest.mark.parametrize("payload, kind", [("wxp://f2f0abcdEFGH1234", "payment"),
                                           ("https://dl.xx-app.top/jd.apk", "download"),
                                           ("https://example.org/notice", "link")])
def test_a_qr_code_is_decoded_and_told_apart(ocr_reader, payload, kind):
    r = ocr_reader.read(drawing.qr_picture(payload, "扫码领取"))
    assert r.qr == (payload,)
    assert find_evidence(r.text, r.qr).qr == [(kind, payload)]


def test_a_photo_without_text_reads_as_empty(ocr_reader):
    r = ocr_reader.read(drawing.blank_photo())
    assert r.empty and r.lines == () and r.qr == ()


def test_a_jpeg_screenshot_reads_like_the_png(ocr_reader):
    assert "三倍理赔" in ocr_reader.read(drawing.sms_screenshot(SMS, fmt="JPEG")).text


@pytest.mark.parametrize("data, code", [
    (b"%PDF-1.4 a document, not a picture", "not_image"),
    (drawing.corrupt_picture(), "corrupt"),
    (drawing.huge_picture(), "too_many_pixels"),
])
def test_bad_pictures_are_refused_with_a_reason(ocr_reader, data, code):
    with pytest.raises(Refused) as e:
        ocr_reader.read(data)
    assert e.value.code == code


def test_an_oversize_file_is_refused_before_its_header_is_read():
    with pytest.raises(Refused) as e:
        inspect(b"\x89PNG\r\n\x1a\n" + b"\0" * 5000, max_bytes=4096, max_pixels=10 ** 6)
    assert e.value.code == "too_big"


def test_the_pixel_cap_comes_from_the_header_before_anything_is_decoded():
    fmt, w, h = inspect(drawing.huge_picture(3000, 2000), max_bytes=10 ** 7, max_pixels=6_000_000)
    assert (fmt, w, h) == ("png", 3000, 2000)
    with pytest.raises(Refused):
        inspect(drawing.huge_picture(3000, 2001), max_bytes=10 ** 7, max_pixels=6_000_000)


@pytest.mark.slow
def test_the_time_cap_stops_the_reading_and_says_so():
    hasty = Reader(max_bytes=10 ** 7, max_pixels=40_000_000, seconds=0.0)
    r = hasty.read(drawing.sms_screenshot(SMS))
    assert r.cut and r.lines == ()


def test_the_gist_is_one_short_line_with_numbers_masked_and_links_untappable(ocr_reader):
    r = ocr_reader.read(drawing.sms_screenshot(SMS))
    line = gist(r, limit=200)
    assert "\n" not in line and "138****5678" in line and "13812345678" not in line
    assert "sf-lp[.]cc/a8" in line and "sf-lp.cc" not in line
    assert len(gist(r)) <= 41


def test_links_of_every_scheme_are_defanged():
    assert defang("http://sf-lp.cc/a8") == "sf-lp[.]cc/a8"
    assert defang("wxp://f2f0abc.d") == "f2f0abc[.]d"


def test_the_bots_file_decryption_agrees_with_the_simulators_encryption():
    sim = WeComCrypto("token", KEY, "")
    for data in (b"", b"x", bytes(range(256)) * 3, drawing.blank_photo(64, 48)):
        assert decrypt_file(KEY, sim.encrypt_file(data)) == data
    with pytest.raises(ValueError):
        decrypt_file(KEY, b"not encrypted at all")


def test_the_screenshot_set_reads_nearly_every_character_and_keeps_the_intent_of_the_typed_text(ocr_reader):
    from content import Matcher, load_library
    from tests.screenshots import load_set, screenshot_set
    lib = load_library()
    items = load_set()[::3]                    # every style is in every third item; the bench reads them all
    assert {i["style"] for i in items} == {"chat", "page", "photo", "sms", "sms_jpeg", "sms_1080"}
    result = screenshot_set(items, ocr_reader, lib, Matcher(lib))
    assert result["chars"] >= 0.97 and result["chars_min"] >= 0.90
    assert result["pictured"] >= result["typed"] - 0.05
