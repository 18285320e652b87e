"""WeCom callback crypto (WXBizMsgCrypt) on top of wechatpy, for XML and JSON envelopes.

The AI bot uses the same scheme with an empty receiveid; the self-built app uses the CorpID.
"""
from __future__ import annotations

import secrets
import struct
import time

from wechatpy.crypto import _get_signature
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import to_text


class CallbackRejected(Exception):
    """A callback that must not be processed; `status` is the HTTP answer (400 or 403)."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


class CallbackCrypto:
    def __init__(self, token: str, encoding_aes_key: str, receive_id: str):
        self.token = token
        self.receive_id = receive_id
        self._crypto = WeChatCrypto(token, encoding_aes_key, receive_id)

    def signature(self, timestamp: str, nonce: str, encrypt: str) -> str:
        return _get_signature(self.token, timestamp, nonce, encrypt)

    def verify_url(self, signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """GET verification: check the signature over echostr and return its plaintext."""
        return self._open(lambda: self._crypto.check_signature(signature, timestamp, nonce, echostr))

    def decrypt(self, encrypt: str, signature: str, timestamp: str, nonce: str) -> str:
        """Check the signature over `encrypt` and return the plaintext message."""
        return self._open(lambda: self._crypto.decrypt_message({"Encrypt": encrypt}, signature, timestamp, nonce))

    @staticmethod
    def _open(fn) -> str:
        try:
            return to_text(fn())
        except InvalidSignatureException:
            raise CallbackRejected(403, "bad signature")
        except (ValueError, TypeError, KeyError, struct.error, UnicodeDecodeError, IndexError) as e:
            raise CallbackRejected(400, f"cannot decrypt: {type(e).__name__}")
        except Exception as e:  # wechatpy raises its own exception types for a wrong receiveid
            if type(e).__name__ in ("InvalidCorpIdException", "InvalidAppIdException"):
                raise CallbackRejected(403, "wrong receiveid")
            raise

    def encrypt_parts(self, plaintext: str, nonce: str | None = None, timestamp: str | None = None) -> dict:
        """Encrypt and sign a reply; answers {encrypt, msgsignature, timestamp, nonce}."""
        nonce = nonce or secrets.token_hex(8)
        timestamp = timestamp or str(int(time.time()))
        encrypt = to_text(PrpCrypto(self._crypto.key).encrypt(plaintext, self.receive_id))
        return {"encrypt": encrypt, "msgsignature": self.signature(timestamp, nonce, encrypt),
                "timestamp": timestamp, "nonce": nonce}

    def encrypt_xml(self, plaintext: str, nonce: str | None = None, timestamp: str | None = None) -> str:
        p = self.encrypt_parts(plaintext, nonce, timestamp)
        return ("<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt><MsgSignature><![CDATA[{msgsignature}]]>"
                "</MsgSignature><TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>").format(**p)


def decrypt_file(encoding_aes_key: str, data: bytes) -> bytes:
    """A file the intelligent bot's message links to (a picture): AES-256-CBC with the bot's AESKey,
    IV its first 16 bytes, PKCS#7 padding to a multiple of 32; no random prefix, length or receiveid.

    Where this comes from: WeCom's page on receiving messages (path/100719) lists the image message
    with an image `url` that is short-lived and encrypted; its text on the scheme could not be read
    here, so the scheme is the one public AI-bot adapters use to open these files ([3P]: AstrBot's
    wecom_ai_bot decrypts them exactly so). A file that does not open is refused, never guessed at."""
    import base64

    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    key = base64.b64decode(encoding_aes_key + "=")
    if not data or len(data) % 16:
        raise ValueError("not an encrypted file: its length is not a multiple of 16")
    dec = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = dec.update(data) + dec.finalize()
    pad = plain[-1]
    if not 1 <= pad <= 32 or plain[-pad:] != bytes([pad]) * pad:
        raise ValueError("not an encrypted file: bad padding")
    return plain[:-pad]
