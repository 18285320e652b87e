"""WeCom callback crypto (WXBizMsgCrypt), written from the protocol, not borrowed from wechatpy.

The simulator has its own implementation on purpose: the bot uses wechatpy, and two independent
implementations agreeing (and both reproducing Tencent's published vectors) is what shows the
parameters are right (reference/wecom.md §1.1, §2):

- AESKey = base64(EncodingAESKey + "=") -> 32 bytes; AES-256-CBC; IV = AESKey[:16]
- plaintext = 16 random bytes | len(msg) as 4-byte big-endian | msg (UTF-8) | receiveid
- PKCS#7 padding to a multiple of 32 (an aligned message gets a full 32-byte pad)
- signature = sha1(sorted([token, timestamp, nonce, encrypt]) joined) as lowercase hex
"""
from __future__ import annotations

import base64
import hashlib
import secrets
import string
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32
_ALNUM = string.ascii_letters + string.digits


class CryptoError(Exception):
    """A failure with WXBizMsgCrypt's numeric code (-40001 signature, -40005 receiveid, -40007 decrypt...)."""

    def __init__(self, code: int, reason: str):
        self.code = code
        self.reason = reason
        super().__init__(f"{code}: {reason}")


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    parts = sorted([str(token), str(timestamp), str(nonce), str(encrypt)])
    return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()


def random_nonce() -> str:
    # WeCom's nonces are decimal strings (e.g. 1597212914, 47744683)
    return str(secrets.randbelow(9_000_000_000) + 1_000_000_000)


class WeComCrypto:
    """Encrypt / decrypt / sign for one (token, EncodingAESKey, receiveid) triple."""

    def __init__(self, token: str, encoding_aes_key: str, receiveid: str):
        if len(encoding_aes_key) != 43:
            raise CryptoError(-40004, "EncodingAESKey must be 43 characters")
        try:
            self.key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except Exception as e:  # binascii.Error
            raise CryptoError(-40004, f"bad EncodingAESKey: {e}")
        if len(self.key) != 32:
            raise CryptoError(-40004, "EncodingAESKey does not decode to 32 bytes")
        self.iv = self.key[:16]
        self.encoding_aes_key = encoding_aes_key
        self.token = token
        self.receiveid = receiveid

    # --- primitives -----------------------------------------------------------------
    def encrypt(self, plaintext: str | bytes, random_prefix: bytes | None = None) -> str:
        msg = plaintext.encode("utf-8") if isinstance(plaintext, str) else plaintext
        prefix = random_prefix if random_prefix is not None else \
            "".join(secrets.choice(_ALNUM) for _ in range(16)).encode()
        if len(prefix) != 16:
            raise ValueError("random prefix must be 16 bytes")
        raw = prefix + struct.pack(">I", len(msg)) + msg + self.receiveid.encode("utf-8")
        pad = BLOCK - len(raw) % BLOCK  # 1..32, a full block when aligned
        raw += bytes([pad]) * pad
        enc = Cipher(algorithms.AES(self.key), modes.CBC(self.iv)).encryptor()
        return base64.b64encode(enc.update(raw) + enc.finalize()).decode("ascii")

    def decrypt(self, encrypt: str, check_receiveid: bool = True) -> tuple[str, str]:
        """-> (message, receiveid). Raises CryptoError."""
        try:
            data = base64.b64decode(encrypt, validate=True)
        except Exception:
            raise CryptoError(-40010, "Encrypt is not valid base64")
        if not data or len(data) % 16:
            raise CryptoError(-40007, "ciphertext length is not a multiple of the AES block")
        dec = Cipher(algorithms.AES(self.key), modes.CBC(self.iv)).decryptor()
        raw = dec.update(data) + dec.finalize()
        pad = raw[-1]
        if pad < 1 or pad > BLOCK or raw[-pad:] != bytes([pad]) * pad:
            raise CryptoError(-40007, "bad PKCS#7 padding (block size 32)")
        body = raw[16:-pad]
        if len(body) < 4:
            raise CryptoError(-40008, "plaintext too short")
        (n,) = struct.unpack(">I", body[:4])
        if n > len(body) - 4:
            raise CryptoError(-40008, "message length field exceeds the plaintext")
        try:
            msg = body[4:4 + n].decode("utf-8")
            rid = body[4 + n:].decode("utf-8")
        except UnicodeDecodeError:
            raise CryptoError(-40008, "plaintext is not UTF-8")
        if check_receiveid and rid != self.receiveid:
            raise CryptoError(-40005, f"receiveid {rid!r} != {self.receiveid!r}")
        return msg, rid

    def encrypt_file(self, data: bytes) -> bytes:
        """A file behind an intelligent bot's image URL: AES-256-CBC, IV = AESKey[:16], PKCS#7 to a
        multiple of 32, nothing else around it (no random prefix, length or receiveid)."""
        pad = BLOCK - len(data) % BLOCK
        enc = Cipher(algorithms.AES(self.key), modes.CBC(self.iv)).encryptor()
        return enc.update(data + bytes([pad]) * pad) + enc.finalize()

    def sign(self, timestamp: str, nonce: str, encrypt: str) -> str:
        return signature(self.token, timestamp, nonce, encrypt)

    def verify(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
        if not msg_signature or self.sign(timestamp, nonce, encrypt) != msg_signature:
            raise CryptoError(-40001, "signature mismatch")

    def verify_and_decrypt(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> str:
        self.verify(msg_signature, timestamp, nonce, encrypt)
        return self.decrypt(encrypt)[0]

    def seal(self, plaintext: str, timestamp: str | None = None, nonce: str | None = None) -> dict:
        """Encrypt and sign: -> {"encrypt","msg_signature","timestamp","nonce"}."""
        import time as _time
        ts = timestamp or str(int(_time.time()))
        nonce = nonce or random_nonce()
        enc = self.encrypt(plaintext)
        return {"encrypt": enc, "msg_signature": self.sign(ts, nonce, enc), "timestamp": ts, "nonce": nonce}


def open_reply(crypto: "WeComCrypto", enc: str, sig: str, ts: str, nonce: str, receiveid: str,
               problems: list, label: str = "MsgSignature"):
    """Verify and decrypt the bot's encrypted reply, as WeCom does.

    Returns (plaintext, None), or (None, outcome kind) with the reason added to problems; a
    wrong receiveid is noted but the reply still counts.
    """
    if crypto.sign(ts, nonce, enc) != sig:
        problems.append(f"reply {label} does not verify")
        return None, "bad_signature"
    try:
        plain, rid = crypto.decrypt(enc, check_receiveid=False)
    except CryptoError as e:
        problems.append(f"reply does not decrypt: {e}")
        return None, "bad_reply"
    if rid != receiveid:
        problems.append(f"reply receiveid is {rid!r}, expected {receiveid!r}")
    return plain, None
