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
    """A phone's SMS screen: the sender on top, the message in a grey bubble (sizes scale with width)."""
    from PIL import Image, ImageDraw
    k = width / 720
    font, small = _font(round(30 * k)), _font(round(24 * k))
    step = round(44 * k)
    lines = wrap(text, width - round(140 * k), font)
    height = round(220 * k) + step * len(lines)
    img = Image.new("RGB", (width, height), (246, 246, 246))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, width, round(110 * k)), fill=(255, 255, 255))
    d.text((width // 2 - font.getlength(sender) // 2, round(36 * k)), sender, fill=(20, 20, 20), font=font)
    top = round(150 * k)
    d.rounded_rectangle((round(30 * k), top, width - round(60 * k), top + round(20 * k) + step * len(lines)),
                        radius=round(24 * k), fill=(229, 229, 234))
    for i, line in enumerate(lines):
        d.text((round(56 * k), top + round(10 * k) + step * i), line, fill=(0, 0, 0), font=font)
    d.text((round(40 * k), height - round(40 * k)), "短信/彩信", fill=(140, 140, 140), font=small)
    return _png(img, fmt) if fmt == "PNG" else _png(img, fmt, quality=85)


def chat_screenshot(bubbles: list[tuple[str, str]], width: int = 720, title: str = "在线客服") -> bytes:
    """A chat: (who, text) bubbles, "me" on the right in green, anyone else on the left in white."""
    from PIL import Image, ImageDraw
    font = _font(28)
    blocks = [(who, wrap(text, width - 260, font)) for who, text in bubbles]
    height = 120 + sum(40 * len(lines) + 50 for _, lines in blocks)
    img = Image.new("RGB", (width, height), (237, 237, 237))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, width, 80), fill=(247, 247, 247))
    d.text((width // 2 - font.getlength(title) // 2, 22), title, fill=(0, 0, 0), font=font)
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


def bubbles(text: str, parts: int = 2) -> list[tuple[str, str]]:
    """A message cut at sentence ends into up to `parts` bubbles from the other side of a chat."""
    import re
    sentences = [x for x in re.split(r"(?<=[。！？!?～~])", text) if x.strip()]
    if len(sentences) <= 1 or parts <= 1:
        return [("them", text)]
    size = -(-len(sentences) // parts)
    return [("them", "".join(sentences[i:i + size])) for i in range(0, len(sentences), size)]


def screenshot(item: dict) -> bytes:
    """The picture of one item of the screenshot set (tests/data/screenshots.jsonl) in its style."""
    style = item["style"]
    if style == "chat":
        title = ("小雨", "李老师", "王经理", "在线客服", "幸运群(128)")[len(item["text"]) % 5]
        return chat_screenshot(bubbles(item["text"]), width=720, title=title)
    if style == "photo":
        return photographed(sms_screenshot(item["text"], width=720))
    if style == "page":
        return page_screenshot(item["text"])
    width, fmt = {"sms": (720, "PNG"), "sms_jpeg": (720, "JPEG"), "sms_1080": (1080, "PNG")}[style]
    return sms_screenshot(item["text"], width=width, fmt=fmt)


def photographed(picture: bytes, seed: int = 5) -> bytes:
    """A screen photographed with another phone: tilted, a little out of focus, unevenly lit, noisy
    and saved as a low-quality JPEG."""
    import numpy as np
    from PIL import Image, ImageFilter
    rng = np.random.default_rng(seed)
    img = Image.open(io.BytesIO(picture)).convert("RGB")
    img = img.rotate(3.5, resample=Image.BICUBIC, expand=True, fillcolor=(40, 40, 40))
    img = img.filter(ImageFilter.GaussianBlur(1.2))
    a = np.asarray(img).astype("float32")
    light = np.linspace(0.75, 1.05, a.shape[1])[None, :, None]
    a = np.clip(a * light + rng.normal(0, 6, a.shape), 0, 255).astype("uint8")
    return _png(Image.fromarray(a), "JPEG", quality=55)


def page_screenshot(text: str, width: int = 720, title: str = "详情") -> bytes:
    """A web or app page in a phone's browser: an address bar, a coloured title bar, the text, a button."""
    from PIL import Image, ImageDraw
    font, small = _font(30), _font(22)
    lines = wrap(text, width - 80, font)
    height = 330 + 46 * len(lines)
    img = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, width, 60), fill=(240, 240, 240))
    d.rounded_rectangle((20, 12, width - 20, 48), radius=16, fill=(255, 255, 255))
    d.text((40, 18), "m.example-page.cn", fill=(120, 120, 120), font=small)
    d.rectangle((0, 60, width, 140), fill=(30, 110, 220))
    d.text((width // 2 - font.getlength(title) // 2, 82), title, fill="white", font=font)
    for i, line in enumerate(lines):
        d.text((40, 170 + 46 * i), line, fill=(30, 30, 30), font=font)
    y = 190 + 46 * len(lines)
    d.rounded_rectangle((60, y, width - 60, y + 80), radius=40, fill=(240, 90, 40))
    d.text((width // 2 - font.getlength("确定") // 2, y + 22), "确定", fill="white", font=font)
    return _png(img)
