"""Venue propaganda (八进): load and validate content/venues/<venue>.yaml.

One file per venue of the bureau's plan (community, bank, school, square, network,
station, unit, enterprise) plus ``general.yaml`` for items that fit every venue.
Each file::

    venue: community            # = file name; general.yaml has venue: general
    name: 社区和村
    audience: 老年居民、村民、网格员
    items:
      - id: community-pledge    # unique across all files, [a-z0-9-]
        title: 防范电信网络诈骗承诺书
        intent: general         # general | app | a fraud intent id
        text: ...               # plain text, at most 300 characters
        markdown: ...           # optional WeCom markdown; same words as text
        sms: ...                # the reminder SMS without its 【signature】 (the bureau's, from config:
                                # sms_signature); required in network.yaml and general.yaml
        image: posters/app.png  # optional PNG under content/venues/, at most 2 MB

Every problem is reported as one line ``file: field path: reason``; ``items.3.sms`` is
the ``sms`` of the third item of the file (items count from 1, as an editor counts
them).  A directory with any problem is refused as a whole (``ContentError``).
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .intents import catalog
from .library import ContentError, read_yaml, check_facts

try:  # same loader choice as content.library
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader

VENUES = ("community", "bank", "school", "square", "network", "station", "unit", "enterprise")
GENERAL = "general"
VENUE_FILES = VENUES + (GENERAL,)
DEFAULT_DIR = Path(__file__).resolve().parent / "venues"



def item_intents() -> tuple[str, ...]:
    """What a venue item may be about: general, the APP, or a fraud type of the scenario files."""
    return (GENERAL, "app") + catalog().fraud

TEXT_MAX = 300            # characters, plain text for WeChat / robot text messages
TITLE_MAX = 30
SMS_MAX = 70              # one SMS incl. 【签名】 and punctuation (fraud-facts.md §6)
# The signature the campaigns put in front of a reminder SMS: 【…】 with 2–12 characters inside
# (config: sms_signature). Carriers refuse a generic one, and scammers copy it: it names the bureau.
SIGNATURE_INSIDE = (2, 12)
# the loader cannot know the signature: body ≤ 70 − the shortest (【xx】); start-up counts the real one (campaigns.check_pools)
SMS_BODY_MAX = SMS_MAX - (SIGNATURE_INSIDE[0] + 2)
_GENERIC_SIGNATURE = re.compile(r"(反诈|防诈|防骗|提醒|提示|预警|温馨|通知|公告|安全|重要|紧急|官方|服务|中心)+")
MARKDOWN_MAX_BYTES = 4096  # WeCom markdown message content limit (UTF-8 bytes)
IMAGE_MAX_BYTES = 2 * 1024 * 1024  # WeCom webhook image limit
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SMS_REQUIRED_IN = ("network", GENERAL)  # general items are also sent to the network venue

_TOP_KEYS = {"venue", "name", "audience", "items"}
_ITEM_REQUIRED = ("id", "title", "intent", "text")
_ITEM_OPTIONAL = ("markdown", "sms", "image")
_ID_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

# Phone-like numbers a text may name: hotlines and ports sourced in fraud-facts.md.
# A digit run of 3+ digits followed by a unit (元、万、年 …) is an amount or a date, not a number to call.
KNOWN_NUMBERS = {
    "110": "report a crime", "96110": "anti-fraud warning and advice line",
    "12381": "warning SMS port", "12366": "tax hotline", "12333": "人社 hotline",
    "10086": "operator service number", "l0086": "look-alike sender (letter l)",
    "10699000": "一证通查 SMS port", "95022": "ETC",
}
_NUMBER_RE = re.compile(r"(?<![A-Za-z0-9.])([A-Za-z]?\d{3,})(?![\d.]|\s*[元万亿年月日号时分秒岁%％个天次张人条笔位名项倍期])")
_HAS_110 = re.compile(r"(?<!\d)110(?!\d)")

# The 国家反诈中心 APP is installed from the phone's app store only (fraud-facts.md §1).
_APP_BY_LINK = re.compile(r"(扫码|二维码|链接)[^。；;！!\n]{0,6}(下载|安装)")
_NEGATION = re.compile(r"[不别勿禁莫非]")

_MD_FONT = re.compile(r'<font\s+color\s*=\s*"?(\w+)"?\s*>|</font>')
_MD_COLORS = {"info", "comment", "warning"}


@dataclass(frozen=True)
class VenueItem:
    id: str
    venue: str
    title: str
    intent: str
    text: str
    markdown: str | None = None
    sms: str | None = None
    image: Path | None = None  # absolute path of the PNG poster

    def png_bytes(self) -> bytes:
        """The poster's bytes (ValueError when the item has no image)."""
        if self.image is None:
            raise ValueError(f"item {self.id} has no image")
        return self.image.read_bytes()


@dataclass
class Venue:
    venue: str
    name: str
    audience: str
    items: list[VenueItem] = field(default_factory=list)


@dataclass
class VenueLibrary:
    venues: dict[str, Venue]      # VENUES + "general", in file order
    items: dict[str, VenueItem]   # every item of every file, by id
    path: Path

    def items_for(self, venue: str) -> list[VenueItem]:
        """The venue's own items followed by the items of general.yaml."""
        if venue == GENERAL:
            return list(self.venues[GENERAL].items)
        if venue not in VENUES:
            raise KeyError(f"unknown venue {venue!r} (expected one of {', '.join(VENUES)})")
        return list(self.venues[venue].items) + list(self.venues[GENERAL].items)


# ---------------------------------------------------------------- helpers

def signature_problem(signature: str) -> str | None:
    """Why a reminder SMS signature cannot be used, or None: 【…】 with 2–12 characters inside that
    name the sender (carriers refuse 【反诈提醒】-like signatures, and scammers copy them)."""
    lo, hi = SIGNATURE_INSIDE
    m = re.fullmatch(r"【([^【】]*)】", signature.strip())
    if m is None:
        return f"{signature!r} is not a signature: write it as 【…】, e.g. 【安平县公安局】"
    inside = m.group(1)
    if inside != inside.strip() or re.search(r"\s", inside):
        return f"{signature!r}: no spaces inside 【】"
    if not lo <= len(inside) <= hi:
        return f"{signature!r} has {len(inside)} characters inside 【】; {lo} to {hi} are allowed"
    if _GENERIC_SIGNATURE.fullmatch(inside):
        return (f"{signature!r} names no sender: carriers refuse such a signature and scammers copy it; "
                "name the bureau, e.g. 【安平县公安局】")
    return None


def signed_sms(signature: str, body: str) -> str:
    """The reminder SMS as it is sent: the bureau's signature, then the body."""
    return f"{signature.strip()}{body.strip()}"


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR chunk, or None when data is not a PNG."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


def markdown_words(md: str) -> str:
    """The words of a WeCom markdown text: markup and whitespace removed."""
    s = _MD_FONT.sub("", md)
    s = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", s)          # [text](url) -> text
    s = re.sub(r"^\s{0,3}(#{1,6}\s+|>\s?)", "", s, flags=re.M)  # headings, quotes
    s = s.replace("**", "").replace("`", "")
    return re.sub(r"\s+", "", s)


def _str(v, fname, where, errors, required=True, limit=None) -> str | None:
    if v is None:
        if required:
            errors.append(f"{fname}: {where}: missing")
        return None
    if not isinstance(v, str) or not v.strip():
        errors.append(f"{fname}: {where}: must be non-empty text")
        return None
    v = v.strip()
    if limit and len(v) > limit:
        errors.append(f"{fname}: {where}: too long ({len(v)} chars, at most {limit})")
    return v


def check_hotlines(fname: str, where: str, text: str, errors: list[str]) -> None:
    """Numbers and the app as fraud-facts.md has them (the Q&A library's checks come on top)."""
    for m in _NUMBER_RE.finditer(text):
        if m.group(1) not in KNOWN_NUMBERS:
            errors.append(f"{fname}: {where}: number {m.group(1)!r} is not a known hotline "
                          f"({', '.join(KNOWN_NUMBERS)}); check fraud-facts.md before adding one")
    if "96110" in text and not where.endswith(".title") and not _HAS_110.search(text.replace("96110", "")):
        errors.append(f"{fname}: {where}: names 96110 but not 110 "
                      "(96110 is for warnings and advice; a crime is reported on 110)")
    if "反诈" in text:
        for m in _APP_BY_LINK.finditer(text):
            before = text[max(0, m.start() - 8):m.start()]
            if not _NEGATION.search(before + m.group(0)):
                errors.append(f"{fname}: {where}: wrong fact {m.group(0)!r}: the 国家反诈中心 APP is "
                              "installed from the phone's app store only, never via links or QR codes")


def _image(v, fname, where, directory: Path, errors) -> Path | None:
    if v is None:
        return None
    if not isinstance(v, str) or not v.strip():
        errors.append(f"{fname}: {where}: must be a path such as posters/app.png")
        return None
    rel = Path(v.strip())
    path = (directory / rel).resolve()
    if rel.is_absolute() or directory.resolve() not in path.parents:
        errors.append(f"{fname}: {where}: {v!r} must be a relative path inside the venues directory")
        return None
    if not path.is_file():
        errors.append(f"{fname}: {where}: {v!r} not found")
        return None
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(24)
    ok = True
    if png_size(head) is None:
        errors.append(f"{fname}: {where}: {v!r} is not a PNG file (bad signature)")
        ok = False
    if size > IMAGE_MAX_BYTES:
        errors.append(f"{fname}: {where}: {v!r} is {size} bytes, over the 2 MB "
                      f"({IMAGE_MAX_BYTES} bytes) image limit")
        ok = False
    return path if ok else None


def _item(raw, i: int, venue: str, fname: str, directory: Path, errors: list[str],
          seen_ids: dict[str, str]) -> VenueItem | None:
    where = f"items.{i}"
    if not isinstance(raw, dict):
        errors.append(f"{fname}: {where}: must be a mapping of fields (got {type(raw).__name__})")
        return None
    n_before = len(errors)
    for key in sorted(set(map(str, raw)) - set(_ITEM_REQUIRED) - set(_ITEM_OPTIONAL)):
        errors.append(f"{fname}: {where}.{key}: unknown field "
                      f"(fields: {', '.join(_ITEM_REQUIRED + _ITEM_OPTIONAL)})")
    item_id = raw.get("id")
    if item_id is None:
        errors.append(f"{fname}: {where}.id: missing")
    elif not isinstance(item_id, str) or not _ID_RE.fullmatch(item_id):
        errors.append(f"{fname}: {where}.id: {item_id!r} must be lowercase letters, digits and '-'")
    elif item_id in seen_ids:
        errors.append(f"{fname}: {where}.id: duplicate id {item_id!r} (first in {seen_ids[item_id]})")
    else:
        seen_ids[item_id] = f"{fname} {where}"
    title = _str(raw.get("title"), fname, f"{where}.title", errors, limit=TITLE_MAX)
    intent = raw.get("intent")
    if intent is None:
        errors.append(f"{fname}: {where}.intent: missing")
    elif intent not in item_intents():
        errors.append(f"{fname}: {where}.intent: {intent!r} is not an intent "
                      f"(expected one of {', '.join(item_intents())})")
    text = _str(raw.get("text"), fname, f"{where}.text", errors, limit=TEXT_MAX)
    markdown = _str(raw.get("markdown"), fname, f"{where}.markdown", errors, required=False)
    if markdown is not None:
        if len(markdown.encode("utf-8")) > MARKDOWN_MAX_BYTES:
            errors.append(f"{fname}: {where}.markdown: too long ({len(markdown.encode('utf-8'))} bytes, "
                          f"WeCom takes at most {MARKDOWN_MAX_BYTES})")
        bad = sorted({c for c in _MD_FONT.findall(markdown) if c and c not in _MD_COLORS})
        if bad:
            errors.append(f"{fname}: {where}.markdown: font color {', '.join(bad)} unknown to WeCom "
                          f"(use {', '.join(sorted(_MD_COLORS))})")
        if text is not None:
            a, b = markdown_words(markdown), re.sub(r"\s+", "", text)
            if a != b:
                n = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
                errors.append(f"{fname}: {where}.markdown: words differ from text at "
                              f"character {n + 1} (markdown {a[n:n + 12]!r} vs text {b[n:n + 12]!r}); "
                              "markdown may only add markup")
    sms = _str(raw.get("sms"), fname, f"{where}.sms", errors,
               required=venue in SMS_REQUIRED_IN, limit=SMS_BODY_MAX)
    if sms is not None and re.search(r"https?://|www\.|\.(com|cn|net)\b", sms, re.I):
        errors.append(f"{fname}: {where}.sms: no links in a reminder SMS (as the 12381 warnings)")
    if sms is not None and sms.startswith(("【", "[")):
        errors.append(f"{fname}: {where}.sms: starts with a signature ({sms[:sms.find('】') + 1 or 8]!r}); "
                      "write the body only, the campaign puts the bureau's signature (config: sms_signature) in front")
    image = _image(raw.get("image"), fname, f"{where}.image", directory, errors)
    texts = [(f"{where}.{k}", v) for k, v in (("title", title), ("text", text),
                                             ("markdown", markdown), ("sms", sms)) if v]
    check_facts(fname, texts, errors)
    for key, value in texts:
        check_hotlines(fname, key, value, errors)
    if len(errors) != n_before:
        return None
    return VenueItem(id=item_id, venue=venue, title=title, intent=intent, text=text,
                     markdown=markdown, sms=sms, image=image)


def _venue_file(path: Path, data, errors: list[str], seen_ids: dict[str, str]) -> Venue | None:
    fname, venue = path.name, path.stem
    n_before = len(errors)
    if not isinstance(data, dict):
        errors.append(f"{fname}: file: must be a mapping with venue, name, audience, items "
                      f"(got {type(data).__name__})")
        return None
    for key in sorted(set(map(str, data)) - _TOP_KEYS):
        errors.append(f"{fname}: {key}: unknown field (fields: venue, name, audience, items)")
    v = data.get("venue")
    if v is None:
        errors.append(f"{fname}: venue: missing")
    elif v != venue:
        errors.append(f"{fname}: venue: {v!r} does not match the file name ({venue!r})")
    name = _str(data.get("name"), fname, "name", errors, limit=20)
    audience = _str(data.get("audience"), fname, "audience", errors, limit=60)
    raw_items = data.get("items")
    items: list[VenueItem] = []
    if raw_items is None:
        errors.append(f"{fname}: items: missing")
    elif not isinstance(raw_items, list) or not raw_items:
        errors.append(f"{fname}: items: must be a non-empty list of items")
    else:
        for i, raw in enumerate(raw_items, 1):
            item = _item(raw, i, venue, fname, path.parent, errors, seen_ids)
            if item is not None:
                items.append(item)
    if len(errors) != n_before:
        return None
    return Venue(venue=venue, name=name, audience=audience, items=items)


def load_venues(path: str | Path | None = None) -> VenueLibrary:
    """Load and validate every venue file; raise ContentError listing all problems."""
    directory = Path(path) if path is not None else DEFAULT_DIR
    if not directory.is_dir():
        raise ContentError([f"{directory}: file: venue directory not found"])
    errors: list[str] = []
    seen_ids: dict[str, str] = {}
    files = {p.stem: p for p in sorted(directory.iterdir())
             if p.is_file() and p.suffix in (".yaml", ".yml")}
    venues: dict[str, Venue] = {}
    for stem, p in files.items():
        if stem not in VENUE_FILES:
            errors.append(f"{p.name}: file: unknown venue {stem!r} (expected one of {', '.join(VENUE_FILES)})")
    for venue in VENUE_FILES:
        p = files.get(venue)
        if p is None:
            errors.append(f"{venue}.yaml: file: missing (every venue needs a file)")
            continue
        data = read_yaml(p, errors)
        if data is None:
            if not any(e.startswith(f"{p.name}:") for e in errors):
                errors.append(f"{p.name}: file: empty")
            continue
        v = _venue_file(p, data, errors, seen_ids)
        if v is not None:
            venues[venue] = v
    if errors:
        raise ContentError(errors)
    items = {it.id: it for v in venues.values() for it in v.items}
    return VenueLibrary(venues=venues, items=items, path=directory)


def main(argv: list[str] | None = None) -> int:
    """``python -m content.venues [DIR]``: validate and print counts per venue and intent."""
    import sys
    from collections import Counter
    args = sys.argv[1:] if argv is None else argv
    try:
        lib = load_venues(args[0] if args else None)
    except ContentError as exc:
        print("\n".join(exc.errors))
        return 1
    for key, v in lib.venues.items():
        intents = Counter(it.intent for it in v.items)
        print(f"{key:11s} {v.name:8s} {len(v.items):3d} items  "
              + " ".join(f"{k}:{n}" for k, n in sorted(intents.items())))
    total = Counter(it.intent for it in lib.items.values())
    print(f"total {len(lib.items)} items; " + " ".join(f"{k}:{n}" for k, n in sorted(total.items())))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
