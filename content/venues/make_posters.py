"""Draw the venue posters (content/venues/posters/*.png) from the texts in POSTERS.

Run by editors after changing a poster text; the PNGs are committed, so the bot itself
needs neither Pillow nor a font:

    pip install -r requirements-dev.txt          # Pillow
    apt-get install fonts-noto-cjk               # or fonts-wqy-microhei; or set POSTER_FONT=/path/to/font
    python content/venues/make_posters.py        # all posters
    python content/venues/make_posters.py app    # only posters/app.png

Every text here follows /work/shared/reference/fraud-facts.md; tests/content/test_venues.py
runs the same fact checks on them as on the venue YAML files.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT_DIR = HERE / "posters"
WIDTH, HEIGHT = 1080, 1440

FOOTER = ("拿不准  打 96110 咨询", "被骗了  立即打 110 报警")

# name -> poster. colour: the band colour; title: 1-2 big lines; headline: the one sentence
# to remember (boxed); points: 3-4 short lines.
POSTERS: dict[str, dict] = {
    "app": {
        "colour": "#1b5fad",
        "kicker": "全民反诈  从装APP开始",
        "title": ["国家反诈中心", "APP"],
        "headline": "在手机应用商店\n搜索“国家反诈中心”下载",
        "points": [
            "公安部刑侦局推出，免费使用",
            "实名注册，打开来电预警、短信预警",
            "可疑电话、短信、网址，一键举报",
            "不通过链接、二维码安装",
        ],
    },
    "hotlines": {
        "colour": "#0f7b6c",
        "kicker": "记住三个号码",
        "title": ["96110来电要接听", "12381短信要重视"],
        "headline": "已经被骗，立即打110报警\n公安机关可申请紧急止付",
        "points": [
            "96110：预警劝阻专线，可咨询、举报",
            "12381：预警短信，不带链接，不用回复",
            "收到预警，马上停止转账",
            "号码前多了“00”的“96110”要当心",
        ],
    },
    "sanbuyiduo": {
        "colour": "#c0392b",
        "kicker": "防骗口诀",
        "title": ["三不一多"],
        "headline": "凡是让你转钱的\n先停一停，问问家人",
        "points": [
            "陌生来电  不轻信",
            "未知链接  不点击",
            "个人信息  不透露",
            "转账汇款  多核实",
        ],
        "big_points": True,
    },
    "anquanzhanghu": {
        "colour": "#8e1b1b",
        "kicker": "冒充公检法诈骗",
        "title": ["公检法", "没有安全账户"],
        "headline": "要你把钱转到“安全账户”的\n一定是诈骗",
        "points": [
            "公安机关不会打电话办案、做笔录",
            "网上的通缉令、逮捕证都是假的",
            "不会让你保密，不会让你开房独处",
            "马上挂断，告诉家人",
        ],
    },
    "pingmu": {
        "colour": "#d35400",
        "kicker": "冒充客服  虚假征信",
        "title": ["屏幕共享", "就是把卡交给骗子"],
        "headline": "陌生来电提到“会议号”\n“屏幕共享”“远程控制”的\n都是诈骗",
        "points": [
            "开了共享，密码、验证码对方全看见",
            "切换页面没用，要点“结束共享”",
            "卸载对方让你装的软件",
        ],
    },
    "shuadan": {
        "colour": "#6c3483",
        "kicker": "刷单返利诈骗",
        "title": ["刷单先垫钱", "一定是诈骗"],
        "headline": "凡是需要先行充值或垫付\n资金的刷单都是诈骗",
        "points": [
            "点赞返佣、做任务日结，是诱饵",
            "先返几块钱，再让你垫付大单",
            "说“卡单”要再充钱，马上停手",
            "刷单本身也涉嫌违法",
        ],
    },
    "yanglao": {
        "colour": "#7d5a1e",
        "kicker": "养老诈骗",
        "title": ["守好养老钱"],
        "headline": "保健品不是药，不能治病",
        "points": [
            "免费体检、免费旅游，后面是高价卖货",
            "高额返利、到期回购，是老套路",
            "没有什么“民族资产解冻”项目",
            "花大钱前，先和子女商量",
        ],
    },
    "liangka": {
        "colour": "#1f3a68",
        "kicker": "断卡行动",
        "title": ["银行卡  电话卡", "不租  不借  不卖"],
        "headline": "明知是诈骗，还给卡、帮转钱\n可能构成帮信罪",
        "points": [
            "帮人过账、刷脸转账，都别干",
            "情节严重的，处三年以下有期徒刑或者拘役，并处或者单处罚金",
            "多次出租出借，还会被联合惩戒",
            "有人找您收卡，打110举报",
        ],
    },
    "station": {
        "colour": "#117a8b",
        "kicker": "出行提醒",
        "title": ["退票改签", "认准官方渠道"],
        "headline": "“车次停运、航班取消\n给您赔偿”？先核实",
        "points": [
            "退票改签只在官方APP、网站或窗口办理",
            "不打短信里的号码，不点短信里的链接",
            "不开屏幕共享，不报验证码",
        ],
    },
    "enterprise": {
        "colour": "#22313f",
        "kicker": "财务人员注意",
        "title": ["“老板”让转账", "先打电话核实"],
        "headline": "凡是聊天里让转账的\n打电话或当面核实",
        "points": [
            "拉新群、问余额、说“在开会”，是套路",
            "用通讯录里原有的号码核实",
            "大额付款严格审批、复核",
            "不在群里报账户余额",
        ],
    },
}

# Fonts tried in order (bold first). POSTER_FONT overrides.
FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyhbd.ttc",
)
# characters that must not start a line
_NO_LINE_START = set("，。、；：！？”’）》」』,.;:!?)")


def poster_texts(name: str) -> list[str]:
    """Every text printed on the poster (for fact checks)."""
    p = POSTERS[name]
    return [p["kicker"], *p["title"], p["headline"], *p["points"], *FOOTER]


def _font_path() -> str:
    env = os.environ.get("POSTER_FONT")
    if env:
        return env
    for path in FONT_CANDIDATES:
        if Path(path).exists():
            return path
    raise SystemExit("no CJK font found: apt-get install fonts-noto-cjk (or fonts-wqy-microhei), "
                     "or set POSTER_FONT=/path/to/font")


def _font(size: int):
    from PIL import ImageFont
    path = _font_path()
    if path.endswith(".ttc"):
        # pick the Simplified Chinese face of a collection (Noto CJK: "… SC")
        for index in range(10):
            try:
                f = ImageFont.truetype(path, size, index=index)
            except OSError:
                break
            if f.getname()[0].endswith(" SC") or "SC" in f.getname()[0].split():
                return f
    return ImageFont.truetype(path, size)


def _wrap(text: str, font, width: int) -> list[str]:
    lines, line = [], ""
    for ch in text:
        if font.getlength(line + ch) <= width or not line:
            line += ch
        elif ch in _NO_LINE_START:  # keep punctuation with the previous character
            line, carry = line[:-1], line[-1]
            lines.append(line)
            line = carry + ch
        else:
            lines.append(line)
            line = ch
    if line:
        lines.append(line)
    return lines


def _mix(hex_colour: str, white: float) -> tuple[int, int, int]:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return tuple(round(c + (255 - c) * white) for c in (r, g, b))


def draw(name: str):
    """The poster as a PIL image."""
    from PIL import Image, ImageDraw

    p = POSTERS[name]
    colour = p["colour"]
    img = Image.new("RGB", (WIDTH, HEIGHT), _mix(colour, 0.93))
    d = ImageDraw.Draw(img)
    margin = 70
    inner = WIDTH - 2 * margin

    # --- header band: kicker + title
    f_kicker, f_title = _font(46), _font(112 if max(len(t) for t in p["title"]) <= 7 else 92)
    title_lines = [ln for t in p["title"] for ln in _wrap(t, f_title, inner)]
    band_h = 110 + 70 + len(title_lines) * int(f_title.size * 1.22) + 40
    d.rectangle([0, 0, WIDTH, band_h], fill=colour)
    kw = d.textlength(p["kicker"], font=f_kicker)
    d.rounded_rectangle([margin - 4, 44, margin + kw + 36, 44 + 74], radius=37, fill="white")
    d.text((margin + 16, 81), p["kicker"], font=f_kicker, fill=colour, anchor="lm")
    y = 150
    for ln in title_lines:
        d.text((WIDTH // 2, y), ln, font=f_title, fill="white", anchor="ma")
        y += int(f_title.size * 1.22)

    # --- headline box
    y = band_h + 50
    f_head = _font(58)
    head_lines = [ln for part in p["headline"].split("\n") for ln in _wrap(part, f_head, inner - 80)]
    box_h = len(head_lines) * 80 + 60
    d.rounded_rectangle([margin, y, WIDTH - margin, y + box_h], radius=28, fill="white",
                        outline=colour, width=8)
    ty = y + 30
    for ln in head_lines:
        d.text((WIDTH // 2, ty), ln, font=f_head, fill=colour, anchor="ma")
        ty += 80
    y += box_h + 50

    # --- points
    big = p.get("big_points", False)
    f_pt = _font(80 if big else 48)
    step = int(f_pt.size * (1.25 if big else 1.35))
    for point in p["points"]:
        lines = _wrap(point, f_pt, inner - (0 if big else 70))
        if big:
            for ln in lines:
                d.text((WIDTH // 2, y), ln, font=f_pt, fill="#222222", anchor="ma")
                y += step
            y += 10
            continue
        r = 15
        cy = y + f_pt.size // 2 + 4
        d.ellipse([margin + 10, cy - r, margin + 10 + 2 * r, cy + r], fill=colour)
        for ln in lines:
            d.text((margin + 70, y), ln, font=f_pt, fill="#222222")
            y += step
        y += 14

    # --- footer band: the two hotlines
    f_foot = _font(62)
    foot_h = 2 * 92 + 70
    top = HEIGHT - foot_h
    if y > top - 20:
        raise ValueError(f"poster {name}: text runs into the footer (y={y}, footer at {top}); shorten it")
    d.rectangle([0, top, WIDTH, HEIGHT], fill="#1d1d1d")
    fy = top + 38
    for ln, col in zip(FOOTER, ("#ffd54f", "#ff6b6b")):
        d.text((WIDTH // 2, fy), ln, font=f_foot, fill=col, anchor="ma")
        fy += 92
    return img


def main(argv: list[str]) -> int:
    names = argv or list(POSTERS)
    unknown = [n for n in names if n not in POSTERS]
    if unknown:
        print(f"unknown poster(s): {', '.join(unknown)}; known: {', '.join(POSTERS)}")
        return 2
    OUT_DIR.mkdir(exist_ok=True)
    for name in names:
        path = OUT_DIR / f"{name}.png"
        # a palette PNG keeps flat-colour posters small (well under WeCom's 2 MB)
        draw(name).quantize(colors=64, dither=0).save(path, optimize=True)
        print(f"{path.relative_to(HERE.parent.parent)}  {path.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
