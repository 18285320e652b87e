"""The simulator's own WXBizMsgCrypt against Tencent's published vectors (wecom.md §2) and wechatpy."""
import pytest
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.simulator.crypto import CryptoError, WeComCrypto, signature

# Set A: current Tencent sample (sbzhu/weworkapi_python callback/Sample.py)
A = dict(token="hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo", key="6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt",
         corp="ww1436e0e65a779aee")
A_ENC = ("Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew"
         "+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24Yhm"
         "ZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwoc"
         "ugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+")
# Set B: the 2014 sample shipped in every language version
B = dict(token="QDG6eK", key="jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", corp="wx5823bf96d3bd56c7")
B_ENC = ("RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvu"
         "JTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2h"
         "gf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4E"
         "hzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2Yo"
         "yyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==")


def test_set_a_url_verification_and_message():
    c = WeComCrypto(A["token"], A["key"], A["corp"])
    echo = "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="
    assert c.verify_and_decrypt("012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "1476416373", "47744683", echo) \
        == "1288432023552776189"
    plain = c.verify_and_decrypt("0c3914025cb4b4d68103f6bfc8db550f79dcf48e", "1476422779", "1597212914", A_ENC)
    assert plain == ("<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName>"
                     "<CreateTime>1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content>"
                     "<MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>")


def test_set_b_url_verification_and_message():
    c = WeComCrypto(B["token"], B["key"], B["corp"])
    echo = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
    assert c.verify_and_decrypt("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780", echo) \
        == "1616140317555161061"
    plain = c.verify_and_decrypt("477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", B_ENC)
    assert "<FromUserName><![CDATA[mycreate]]></FromUserName>" in plain
    assert "<MsgId>4561255354251345929</MsgId>" in plain and "<Content><![CDATA[hello]]></Content>" in plain


def test_wrong_signature_and_wrong_receiveid_are_refused():
    c = WeComCrypto(A["token"], A["key"], A["corp"])
    with pytest.raises(CryptoError) as e:
        c.verify_and_decrypt("0" * 40, "1476422779", "1597212914", A_ENC)
    assert e.value.code == -40001
    with pytest.raises(CryptoError) as e:
        WeComCrypto(A["token"], A["key"], "wrongcorp").verify_and_decrypt(
            "0c3914025cb4b4d68103f6bfc8db550f79dcf48e", "1476422779", "1597212914", A_ENC)
    assert e.value.code == -40005


def test_encrypt_is_byte_exact_with_pinned_prefix():
    """wechatpy's deterministic vector (random prefix pinned to 1234567890123456)."""
    c = WeComCrypto("123456", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", "wx49f0ab532d5d035a")
    reply = ("<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n"
             "<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n<ToUserName><![CDATA[messense]]></ToUserName>\n"
             "<AgentID>1</AgentID>\n<CreateTime>1411525903</CreateTime>\n</xml>")
    enc = c.encrypt(reply, random_prefix=b"1234567890123456")
    assert enc == ("9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8Gqxl"
                   "hZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCU"
                   "ld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1"
                   "nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3")
    assert signature("123456", "1411525903", "461056294", enc) == "407518b7649e86ef23978113f92d27afa9296533"


@pytest.mark.parametrize("receiveid", ["", "wwdemo0a1b2c3d4e5f"])
@pytest.mark.parametrize("size", [0, 1, 11, 12, 27, 28, 44, 100, 3000])
def test_round_trip_with_wechatpy_across_padding_boundaries(receiveid, size):
    """Sizes hit the 32-byte PKCS#7 boundary (aligned -> full pad); receiveid "" is the AI bot's."""
    key, token = "55BcyEAf8lWF4KOZEKxv1PvtZKMCurLDjyCb3jSKyUo", "tok"
    ours = WeComCrypto(token, key, receiveid)
    theirs = WeChatCrypto(token, key, receiveid)
    msg = ("中" * (size // 3)) + ("x" * (size % 3))
    sealed = ours.seal(msg)
    assert theirs.decrypt_message({"Encrypt": sealed["encrypt"]}, sealed["msg_signature"],
                                  sealed["timestamp"], sealed["nonce"]) == msg
    env = theirs.encrypt_message(msg, "99", "1700000000")
    import re
    enc = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]></Encrypt>", env).group(1)
    sig = re.search(r"<MsgSignature><!\[CDATA\[(.*?)\]\]>", env).group(1)
    assert ours.verify_and_decrypt(sig, "1700000000", "99", enc) == msg


def test_simulator_uses_the_configured_parameters(config, sim_server):
    """The two channels' crypto objects: app = (token, key, CorpID); AI bot = (its token, its key, "")."""
    d = sim_server.deliverer
    w = config.wecom
    assert (d.app_crypto.token, d.app_crypto.receiveid) == (w.token, w.corp_id)
    assert (d.aibot_crypto.token, d.aibot_crypto.receiveid) == (w.aibot.token, "")
    import base64
    assert d.app_crypto.key == base64.b64decode(w.encoding_aes_key + "=")
    assert d.aibot_crypto.iv == d.aibot_crypto.key[:16]
