"""Pictures residents send (screenshots of an SMS, a chat, a payment page, a QR code), read offline.

A picture is checked before anything decodes it: its size in bytes, that it is an image at all
(PNG, JPEG, GIF, WebP, BMP by their first bytes), and its width × height from the header. Then
its QR codes are decoded (OpenCV) and its text read (RapidOCR: ONNX models that ship inside the
package, nothing is downloaded). Reading stops at a time cap and answers from what it read.

The OCR engine loads once per process, on the first picture; at most `pictures.workers` pictures
are read at once (the inbox's picture pool), each with `pictures.threads` threads.
"""
from __future__ import annotations

import ctypes
import io
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Optional

from bot.privacy import mask_phone
from content import markup

log = logging.getLogger(__name__)

# the first bytes of each image format a phone sends
_MAGIC = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"), (b"GIF87a", "gif"), (b"GIF89a", "gif"),
          (b"BM", "bmp"))
# crops read per step: the time cap is checked between steps
_STEP = 12


_ENGINES: dict[int, object] = {}
_ENGINE_LOCK = threading.Lock()


def _give_back_memory() -> None:
    """Hand the memory one reading used back to the system. A reading takes about 250 MB for a moment
    (the ONNX runtime's buffers, sized by each picture); glibc would keep it, fragmented, and the
    process grew with every picture of a new size."""
    global _TRIM
    if _TRIM is None:
        try:
            _TRIM = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):       # not glibc: nothing to do
            _TRIM = False
    if _TRIM:
        _TRIM(0)


_TRIM = None


class Refused(Exception):
    """A picture the bot will not read; `code` says why (too_big, not_image, too_many_pixels, corrupt,
    no_reader) and the message says it in words for the log."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code


@dataclass(frozen=True)
class Reading:
    """What a picture says: its text lines top to bottom, its QR codes, and how the reading went."""
    lines: tuple[str, ...]
    qr: tuple[str, ...] = ()
    width: int = 0
    height: int = 0
    seconds: float = 0.0
    # the time cap stopped the reading: `lines` is the picture's top part only
    cut: bool = False

    @property
    def text(self) -> str:
        # a phone wraps lines inside words, links and numbers: joined as they were before the wrap
        return "".join(self.lines)

    @property
    def empty(self) -> bool:
        return not self.lines and not self.qr


def image_format(data: bytes) -> Optional[str]:
    """png, jpeg, gif, webp or bmp from the first bytes; None for anything else."""
    for magic, fmt in _MAGIC:
        if data.startswith(magic):
            return fmt
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def inspect(data: bytes, max_bytes: int, max_pixels: int) -> tuple[str, int, int]:
    """(format, width, height) of an acceptable picture, from its header only; raises Refused."""
    if len(data) > max_bytes:
        raise Refused("too_big", f"{len(data)} bytes, more than {max_bytes}")
    fmt = image_format(data)
    if fmt is None:
        raise Refused("not_image", "not a PNG, JPEG, GIF, WebP or BMP picture")
    from PIL import Image
    try:
        with Image.open(io.BytesIO(data)) as im:      # reads the header, decodes nothing
            width, height = im.size
    except Exception as e:
        raise Refused("corrupt", f"the picture cannot be opened: {type(e).__name__}")
    if width * height > max_pixels:
        raise Refused("too_many_pixels", f"{width}×{height} pixels, more than {max_pixels}")
    return fmt, width, height


def decode(data: bytes):
    """The picture as an RGB array (the first frame of a GIF); raises Refused when it is broken."""
    import numpy as np
    from PIL import Image
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.seek(0)
            return np.asarray(im.convert("RGB"))
    except Refused:
        raise
    except Exception as e:
        raise Refused("corrupt", f"the picture cannot be decoded: {type(e).__name__}")


def read_qr(rgb) -> tuple[str, ...]:
    """The texts of the QR codes in a picture (none found: empty)."""
    import cv2
    try:
        ok, texts, _points, _codes = cv2.QRCodeDetector().detectAndDecodeMulti(rgb)
    except cv2.error:
        return ()
    return tuple(t for t in texts if t) if ok else ()


class Reader:
    """Reads pictures with one OCR engine per process (loaded on first use)."""

    def __init__(self, max_bytes: int, max_pixels: int, seconds: float, threads: int = 2):
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self.seconds = seconds
        self.threads = threads

    @classmethod
    def from_config(cls, cfg) -> "Reader":
        return cls(cfg.max_bytes, cfg.max_pixels, cfg.seconds, cfg.threads)

    @staticmethod
    def available() -> bool:
        """The OCR package is installed (requirements.txt pins it; a trimmed install may lack it)."""
        try:
            import rapidocr_onnxruntime  # noqa: F401
        except ImportError:
            return False
        return True

    def engine(self):
        """The process's OCR engine for this many threads (loaded once, in about half a second)."""
        with _ENGINE_LOCK:
            if self.threads not in _ENGINES:
                try:
                    from rapidocr_onnxruntime import RapidOCR
                except ImportError as e:
                    raise Refused("no_reader", f"OCR is not installed: {e}")
                started = time.monotonic()
                # text boxes are found on the picture scaled to at most 960 pixels a side (PaddleOCR's
                # own default; the package ships "at least 736"): on the screenshot set it reads as much
                # and takes about 130 MB less at its peak. The text itself is read at full size.
                _ENGINES[self.threads] = RapidOCR(intra_op_num_threads=self.threads, inter_op_num_threads=1,
                                                  det_limit_type="max", det_limit_side_len=960)
                log.info("OCR engine loaded in %.1fs", time.monotonic() - started)
            return _ENGINES[self.threads]

    def read(self, data: bytes) -> Reading:
        """Check, decode and read one picture; raises Refused."""
        started = time.monotonic()
        _fmt, width, height = inspect(data, self.max_bytes, self.max_pixels)
        try:
            rgb = decode(data)
            qr = read_qr(rgb)
            lines, cut = self._ocr(rgb, started + self.seconds)
        finally:
            _give_back_memory()
        return Reading(tuple(lines), qr, width, height, round(time.monotonic() - started, 3), cut)

    def _ocr(self, rgb, deadline: float) -> tuple[list[str], bool]:
        """Detect the text boxes, then read them top to bottom a few at a time until the deadline.

        The steps are the engine's own (RapidOCR.__call__ does the same in one go), taken apart so
        that the time cap can stop between them: a picture full of text cannot hold a worker."""
        eng = self.engine()
        bgr = rgb[:, :, ::-1].copy()
        img, _rh, _rw = eng.preprocess(bgr)
        img, _record = eng.maybe_add_letterbox(img, {})
        boxes, _elapsed = eng.auto_text_det(img)
        if boxes is None:
            return [], False
        crops = eng.get_crop_img_list(img, boxes)
        lines: list[str] = []
        for start in range(0, len(crops), _STEP):
            if time.monotonic() > deadline:
                return lines, True
            part = crops[start:start + _STEP]
            part, _cls, _t = eng.text_cls(part)
            recognised, _t = eng.text_rec(part, False)
            lines.extend(t.strip() for t, score, *_ in recognised if score >= eng.text_score and t.strip())
        return lines, False


# --- evidence: what in a picture a resident should not call, open, add or pay ---------------------
_LINK = re.compile(r"(?:https?://)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
                   r"(?:com|cn|cc|net|org|top|xyz|vip|app|info|co|me|io|club|shop|site|online|ltd|live|"
                   r"pro|fun|link|ink|work|icu|tk|hk|tw|la|ly|gl|im|in|to|ws)(?![A-Za-z0-9-])(?:/[A-Za-z0-9_\-./?%&=#~+]*)?",
                   re.I)
_URL = re.compile(r"(?<![A-Za-z])(?:https?|weixin|wxp|alipays?)://[A-Za-z0-9_\-./?%&=#~+:]+", re.I)
_CARD = re.compile(r"(?<!\d)(?:\d{4}[ -]?){3}\d{4,7}(?!\d)")
_QQ = re.compile(r"(?:QQ|qq|扣扣)\s*(?:号)?\s*[:：]?\s*(\d{5,11})(?!\d)")
_WECHAT = re.compile(r"(?:微信|VX|vx|V信|薇信|威信)\s*(?:号)?\s*[:：]?\s*([a-zA-Z][-_a-zA-Z0-9]{5,19})")
_PHONE = re.compile(r"(?<![\d+])(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)|(?<![\d+])0\d{2,3}[ -]?\d{7,8}(?!\d)")
_PAYMENT = re.compile(r"^(?:wxp|weixin|alipays?)://|qr\.alipay\.com|pay|收款|付款", re.I)
_DOWNLOAD = re.compile(r"\.apk\b|download|下载|/app\b|itms-services", re.I)


@dataclass
class Evidence:
    """Contacts and links found in a picture's text and QR codes, in the order they appear."""
    phones: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)
    qq: list[str] = field(default_factory=list)
    wechat: list[str] = field(default_factory=list)
    # QR codes: (kind, payload) with kind payment, download or link
    qr: list[tuple[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any((self.phones, self.links, self.accounts, self.qq, self.wechat, self.qr))


def _add(seq: list, item: str) -> None:
    if item and item not in seq:
        seq.append(item)


def find_evidence(text: str, qr: tuple[str, ...] = ()) -> Evidence:
    ev = Evidence()
    for m in _PHONE.finditer(text):
        _add(ev.phones, re.sub(r"[ -]", "", m.group(0)))
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if not any(digits.endswith(p[-11:]) for p in ev.phones):
            _add(ev.accounts, digits)
    for m in _QQ.finditer(text):
        _add(ev.qq, m.group(1))
    for m in _WECHAT.finditer(text):
        _add(ev.wechat, m.group(1))
    for m in list(_URL.finditer(text)) + list(_LINK.finditer(text)):
        link = m.group(0).rstrip(".,，。")
        if not any(link in seen for seen in ev.links):
            _add(ev.links, link)
    for payload in qr:
        kind = "payment" if _PAYMENT.search(payload) else "download" if _DOWNLOAD.search(payload) else "link"
        ev.qr.append((kind, payload))
    return ev


def defang(link: str) -> str:
    """sf-lp[.]cc/a8: still readable, no longer a link a chat app makes tappable (any scheme)."""
    return re.sub(r"^[a-z]+://", "", link, flags=re.I).replace(".", "[.]")


def tail(account: str) -> str:
    return f"尾号{account[-4:]}"


def gist(reading: Reading, limit: int = 40) -> str:
    """One short line of what the picture says, numbers masked and links made untappable."""
    flat = re.sub(r"\s+", " ", reading.text).strip()
    flat = mask_phone(markup.untappable(_URL.sub(lambda m: defang(m.group(0)), flat)))
    return flat if len(flat) <= limit else flat[:limit].rstrip() + "…"
