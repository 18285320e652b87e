"""Pictures drawn for the tests with the shipped CJK font: screenshots of an SMS and a chat, a QR
code, a blank photo, an oversize picture and broken bytes."""
from __future__ import annotations

import io
import random
from pathlib import Path

FONT = Path(__file__).resolve().parent.parent / "bot" / "fonts" / "wqy-microhei.ttc"


def _font(size: int):
    from PIL import ImageFont
    return ImageFont.truetype(str(FONT), size)


def _png(img, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def wrap(text: str, width: int, font) -> list[str]:
    """Break text into lines that fit `width` pixels (character by character, as a phone does)."""
    lines, line = [], ""
    for ch in text:
        if ch == "\n":
            lines.append(line)
            line = ""
            continue
        if font.getlength(line + ch) > width and line:
            lines.append(line)
            line = ""
        line += ch
    if line:
        lines.append(line)
    return lines


def sms_screenshot(text: str, sender: str = "106908812345", width: int = 720, fmt: str = "PNG") -> bytes:
    """A phone's SMS screen: the sender on top, the message in a grey bubble."""
    from PIL import Image, ImageDraw
    font, small = _font(30), _font(24)
    lines = wrap(text, width - 140, font)
    height = 220 + 44 * len(lines)
    img = Image.new("RGB", (width, height), (246, 246, 246))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, width, 110), fill=(255, 255, 255))
    d.text((width // 2 - font.getlength(sender) // 2, 36), sender, fill=(20, 20, 20), font=font)
    d.rounded_rectangle((30, 150, width - 60, 170 + 44 * len(lines)), radius=24, fill=(229, 229, 234))
    for i, line in enumerate(lines):
        d.text((56, 160 + 44 * i), line, fill=(0, 0, 0), font=font)
    d.text((40, height - 40), "短信/彩信", fill=(140, 140, 140), font=small)
    return _png(img, fmt) if fmt == "PNG" else _png(img, fmt, quality=85)


def chat_screenshot(bubbles: list[tuple[str, str]], width: int = 720) -> bytes:
    """A chat: (who, text) bubbles, "me" on the right in green, anyone else on the left in white."""
    from PIL import Image, ImageDraw
    font = _font(28)
    blocks = [(who, wrap(text, width - 260, font)) for who, text in bubbles]
    height = 120 + sum(40 * len(lines) + 50 for _, lines in blocks)
    img = Image.new("RGB", (width, height), (237, 237, 237))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, width, 80), fill=(247, 247, 247))
    d.text((width // 2 - 60, 22), "在线客服", fill=(0, 0, 0), font=font)
    y = 110
    for who, lines in blocks:
        w = max(int(font.getlength(line)) for line in lines) + 40
        h = 40 * len(lines) + 20
        if who == "me":
            x0 = width - 110 - w
            d.rounded_rectangle((x0, y, width - 110, y + h), radius=10, fill=(149, 236, 105))
            d.rectangle((width - 90, y, width - 30, y + 60), fill=(90, 140, 200))
        else:
            x0 = 110
            d.rounded_rectangle((x0, y, x0 + w, y + h), radius=10, fill=(255, 255, 255))
            d.rectangle((30, y, 90, y + 60), fill=(220, 120, 60))
        for i, line in enumerate(lines):
            d.text((x0 + 20, y + 10 + 40 * i), line, fill=(0, 0, 0), font=font)
        y += h + 30
    return _png(img)


def qr_picture(payload: str, caption: str = "") -> bytes:
    """A QR code (drawn by OpenCV's encoder), with a caption under it if given."""
    import cv2
    import numpy as np
    from PIL import Image, ImageDraw
    code = cv2.QRCodeEncoder.create().encode(payload)
    code = cv2.resize(code, (code.shape[1] * 8, code.shape[0] * 8), interpolation=cv2.INTER_NEAREST)
    qr = Image.fromarray(np.asarray(code)).convert("RGB")
    img = Image.new("RGB", (qr.width + 120, qr.height + (140 if caption else 120)), "white")
    img.paste(qr, (60, 60))
    if caption:
        ImageDraw.Draw(img).text((60, qr.height + 80), caption, fill=(0, 0, 0), font=_font(30))
    return _png(img)


def blank_photo(width: int = 800, height: int = 600, seed: int = 7) -> bytes:
    """A photo with no text in it: a sky-to-grass gradient with soft noise (JPEG)."""
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, height)[:, None, None]
    top, bottom = np.array([120, 170, 230]), np.array([70, 140, 60])
    img = (top * (1 - y) + bottom * y) * np.ones((1, width, 1))
    img = np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype("uint8")
    return _png(Image.fromarray(img), "JPEG", quality=80)


def huge_picture(width: int = 9000, height: int = 9000) -> bytes:
    """A PNG whose header says width × height (it compresses to little: one colour)."""
    from PIL import Image
    return _png(Image.new("L", (width, height), 255), "PNG", optimize=False)


def corrupt_picture() -> bytes:
    """A PNG header followed by garbage."""
    rnd = random.Random(3)
    return b"\x89PNG\r\n\x1a\n" + bytes(rnd.randrange(256) for _ in range(2000))
