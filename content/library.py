"""Content library: load and validate the scenario YAML files.

One file per intent under content/scenarios/ (file name = intent id), plus
content/lexicon.yaml (typos, abbreviations, generic suspicion cues) which is
language data shared by all intents.  Every problem is reported as one line
``file: field: reason``; a library with any error is refused as a whole.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path


from .files import DEFAULT_DIR, LEXICON_PATH, NONE, PACKAGE_DIR, ContentError, read_yaml
from .intents import read_catalog
from .learned import WEIGHTS_PATH, Weights
from .normalize import Normalizer

__all__ = ["ContentError", "DEFAULT_DIR", "LEXICON_PATH", "Library", "NONE", "PACKAGE_DIR", "Scenario",
           "load_library", "read_yaml"]

# service intents the code answers in its own way (content/answers.py, the matcher's after-state rule);
# every other intent, fraud or service, is only its file
REQUIRED_SERVICE_INTENTS = ("after_scam", "app")

WEIGHT_MIN, WEIGHT_MAX = -5.0, 5.0
NOTICE_PARTS = ("warn", "general", "speaker", "service", "question")

# Wrong facts that must never appear in any text (fraud-facts.md §0).
FORBIDDEN_FACTS = (
    (re.compile(r"96110[^。；;，,\n]{0,6}(报警|报案|立案)"), "96110 is the warning/advice line, not for reporting a crime (use 110)"),
    (re.compile(r"(报警|报案)[^。；;，,\n]{0,4}96110"), "96110 is the warning/advice line, not for reporting a crime (use 110)"),
    (re.compile(r"中国反诈中心"), "the app is 「国家反诈中心」, not 中国反诈中心"),
    (re.compile(r"(?<![\d.])165(?!\d)"), "165 is Taiwan's anti-fraud line; the mainland uses 110 / 96110"),
    (re.compile(r"输错.{0,6}密码.{0,10}(冻结|锁)"), "wrong-password myth: it does not freeze the fraudster's account; call 110 for 紧急止付"),
    (re.compile(r"黄金.{0,4}(30|三十)分钟"), "'golden 30 minutes' is unconfirmed; say 越快越好、第一时间"),
    (re.compile(r"(170|171).{0,4}开头"), "do not teach number-prefix rules"),
    (re.compile(r"95598.{0,6}(税|退税)|(税|退税).{0,6}95598"), "95598 is State Grid; tax questions go to 12366"),
    # issue 11, items 7, 9, 10
    (re.compile(r"转错[^。；;！!？?\n]{0,14}(?<!\d)110(?!\d)"),
     "a mistaken transfer is for the bank (its hotline or counter); 110 is for fraud"),
    (re.compile(r"(最高|最多)[^。；;，,\n]{0,4}[三3]年|[三3]年(?!以下有期徒刑或者拘役，并处或者单处罚金)[^。；;\n]{0,6}(有期徒刑|拘役|罚金)"),
     "帮信罪 (刑法287-2) is punished by 三年以下有期徒刑或者拘役，并处或者单处罚金: quote it exactly"),
)

# Words that are wrong unless the sentence (whole_text: the whole text) around them says more
# (issue 11, item 10): (regex, what must be around it, reason, whole_text).
CONTEXT_FACTS = (
    # the 银保监会 was replaced by the 国家金融监督管理总局 in 2023; scammers still use the name
    (re.compile(r"银保监会|银监会|保监会"),
     re.compile(r"撤销|不存在|没有了|早就没|已经没|取代|旧名|老名字|自称|冒充|假冒|假的"),
     "the 银保监会 no longer exists (replaced in 2023 by the 国家金融监督管理总局); name it only as "
     "a name scammers still use (已撤销, 自称, 冒充)", False),
    # a text that sends 退税 to the APP names every official channel
    (re.compile(r"(在|用|通过|到|走)[^。；;，,\n]{0,3}(个人所得税|个税)[”」]?(APP|app)"),
     re.compile(r"^(?![\s\S]*退税)|^(?=[\s\S]*自然人电子税务局)(?=[\s\S]*办税服务厅)"),
     "退税 has three official channels: 个人所得税APP, 自然人电子税务局网站, 办税服务厅 (questions: 12366); "
     "name them all", True),
)
_SENTENCE_END = re.compile(r"[。！!？?；;\n]")

# longest allowed text per single-text field (characters)
_TEXT_LIMITS = {"name": 20, "short": 8, "summary": 60, "now": 90, "case": 220, "ask": 40}
SAY_MAX = 100  # a situation's opening lines
_FIELDS = {
    "kind", "case_name", "case_words", "name", "short", "summary", "how", "red_flags", "advice", "now", "case",
    "keywords", "words", "patterns", "combos", "first_steps", "examples", "dominates",
    "ask", "situations",
}


@dataclass(frozen=True)
class Pattern:
    regex: re.Pattern
    weight: float
    label: str


@dataclass(frozen=True)
class Combo:
    groups: tuple[tuple[str, ...], ...]
    weight: float
    label: str


@dataclass(frozen=True)
class Situation:
    """A case the reply must open with a fixed answer ("马上挂断，别开共享"): ``when`` matches
    the normalised message and ``unless`` does not. ``keep``: a fraud type the matcher named
    stays the intent (screen sharing happens in many scams); otherwise the situation's own
    scenario is the intent."""
    id: str
    when: re.Pattern
    say: str
    unless: re.Pattern | None = None
    keep: bool = False
    intent: str = ""

    def applies(self, norm: str) -> bool:
        return bool(self.when.search(norm)) and not (self.unless and self.unless.search(norm))


@dataclass
class Scenario:
    id: str
    kind: str          # fraud | service (content.intents)
    name: str
    short: str
    summary: str
    how: list[str]
    red_flags: list[str]
    advice: list[str]
    now: str
    case: str
    keywords: dict[str, float]
    words: dict[str, float] = field(default_factory=dict)
    patterns: list[Pattern] = field(default_factory=list)
    combos: list[Combo] = field(default_factory=list)
    first_steps: list[str] = field(default_factory=list)
    # intents this one wins over when its own evidence alone reaches the threshold
    # (jiaoyou over touzi: romance that leads into investment is labelled jiaoyou)
    dominates: list[str] = field(default_factory=list)
    # the one question a "suspect and ask" reply puts (fraud types only)
    ask: str = ""
    situations: list[Situation] = field(default_factory=list)
    source: str = ""


@dataclass
class Lexicon:
    typos: dict[str, str]
    abbreviations: dict[str, str]
    # family -> {cue: weight}: generic fraud-pressure cues (pay first, move money, secrecy ...)
    suspicion: dict[str, dict[str, float]]
    forwarded: list[re.Pattern]
    negators: list[str]
    source: str = ""
    # (family, regex, weight): cue patterns that no fixed phrase covers ("交…费", "每人50元")
    suspicion_patterns: list[tuple[str, re.Pattern, float]] = field(default_factory=list)
    # cue -> weight: signs of a genuine notice or a contact the user started (counter-evidence)
    legit: dict[str, float] = field(default_factory=dict)
    # phrases that void the legit cues: the check the writer made exposed the fraud ("老师说没发过")
    legit_void: list[str] = field(default_factory=list)
    # money already gone + asking what to do now -> after_scam whatever the fraud type:
    # {"gone": [regex], "now": [regex], "still": [regex]}; "still" (is it a scam? keep paying?
    # ongoing demand, hypothetical) keeps the fraud type
    after_state: dict[str, list[re.Pattern]] = field(default_factory=dict)
    # cue -> weight: talk about someone else's case or the news ("看新闻说…", "大家都注意点"),
    # counter-evidence like legit, but never voided by "被骗"/"是骗子" (the story is about a scam)
    hearsay: dict[str, float] = field(default_factory=dict)
    # an anti-fraud notice (police, bank, school: "凡是…都是诈骗，请勿…") or a service SMS that sends
    # the reader to the sender's own app: {warn, general, speaker, service, question} regexes
    notice: dict[str, re.Pattern] = field(default_factory=dict)


@dataclass
class Library:
    scenarios: dict[str, Scenario]
    lexicon: Lexicon
    path: Path
    # learned word weights (content/weights.json, content.learned); None when loaded for training
    weights: object = None
    # the intents and their names (content.intents.Catalog), read from the same files
    catalog: object = None

    @property
    def fraud_intents(self) -> tuple[str, ...]:
        return self.catalog.fraud

    @property
    def intents(self) -> tuple[str, ...]:
        return self.catalog.intents


# ---------------------------------------------------------------- helpers

def _compile_pattern(source: str, where: str, errors: list[str]):
    """The compiled regex, or None with the reason added to errors (bad syntax, or matches empty text)."""
    try:
        rx = re.compile(source)
    except re.error as exc:
        errors.append(f"{where} regex does not compile: {exc}")
        return None
    if rx.search(""):
        errors.append(f"{where} regex matches empty text")
        return None
    return rx


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _text(data, key, fname, errors, required=True) -> str:
    v = data.get(key)
    if v is None:
        if required:
            errors.append(f"{fname}: {key}: missing")
        return ""
    if not isinstance(v, str) or not v.strip():
        errors.append(f"{fname}: {key}: must be non-empty text")
        return ""
    v = v.strip()
    limit = _TEXT_LIMITS.get(key)
    if limit and len(v) > limit:
        errors.append(f"{fname}: {key}: too long ({len(v)} chars, at most {limit})")
    return v


def _text_list(data, key, fname, errors, lo, hi, item_max=None, required=True) -> list[str]:
    v = data.get(key)
    if v is None:
        if required:
            errors.append(f"{fname}: {key}: missing")
        return []
    if isinstance(v, str) and key == "how":
        v = [v]
    if not isinstance(v, list):
        errors.append(f"{fname}: {key}: must be a list of texts")
        return []
    out = []
    for i, item in enumerate(v, 1):
        if not isinstance(item, str) or not item.strip():
            errors.append(f"{fname}: {key}: item {i} must be non-empty text")
            continue
        item = item.strip()
        if item_max and len(item) > item_max:
            errors.append(f"{fname}: {key}: item {i} too long ({len(item)} chars, at most {item_max})")
        out.append(item)
    if not lo <= len(v) <= hi:
        errors.append(f"{fname}: {key}: needs {lo} to {hi} items (has {len(v)})")
    return out


def _weight(v, fname, where, errors, allow_negative=True) -> float | None:
    if not _is_number(v):
        errors.append(f"{fname}: {where}: weight must be a number (got {v!r})")
        return None
    lo = WEIGHT_MIN if allow_negative else 0.0
    if not (lo <= v <= WEIGHT_MAX) or v == 0:
        rng = f"{lo:g}..{WEIGHT_MAX:g}, not 0"
        errors.append(f"{fname}: {where}: weight {v!r} out of range ({rng})")
        return None
    return float(v)


def _phrase_ok(phrase: str, fname: str, where: str, errors: list[str], normalize) -> bool:
    # Keywords are compared with normalised text, so they must be normalised themselves.
    if not phrase or not phrase.strip():
        errors.append(f"{fname}: {where}: empty phrase")
        return False
    norm = normalize(phrase)
    if norm != phrase:
        errors.append(f"{fname}: {where}: {phrase!r} is not in normalised form (write {norm!r})")
        return False
    return True


def _weighted_phrases(data, key, fname, errors, normalize, min_items=0) -> dict[str, float]:
    v = data.get(key)
    if v is None:
        if min_items:
            errors.append(f"{fname}: {key}: missing")
        return {}
    if not isinstance(v, dict):
        errors.append(f"{fname}: {key}: must be a mapping of phrase: weight")
        return {}
    out = {}
    for phrase, w in v.items():
        phrase_s = str(phrase)
        where = f"{key}: {phrase_s!r}" if key else phrase_s
        weight = _weight(w, fname, where, errors)
        if weight is None or not _phrase_ok(phrase_s, fname, key, errors, normalize):
            continue
        out[phrase_s] = weight
    positives = sum(1 for w in out.values() if w > 0)
    if positives < min_items:
        errors.append(f"{fname}: {key}: needs at least {min_items} positive keywords (has {positives})")
    return out


def _patterns(data, fname, errors) -> list[Pattern]:
    v = data.get("patterns", [])
    if not isinstance(v, list):
        errors.append(f"{fname}: patterns: must be a list of {{re, weight, label}}")
        return []
    out = []
    for i, item in enumerate(v, 1):
        if not isinstance(item, dict) or not isinstance(item.get("re"), str):
            errors.append(f"{fname}: patterns: item {i} needs 're' (text), 'weight' and 'label'")
            continue
        extra = set(item) - {"re", "weight", "label"}
        if extra:
            errors.append(f"{fname}: patterns: item {i} has unknown keys {sorted(extra)}")
        rx = _compile_pattern(item["re"], f"{fname}: patterns: item {i}", errors)
        if rx is None:
            continue
        w = _weight(item.get("weight"), fname, f"patterns: item {i}", errors, allow_negative=False)
        label = item.get("label")
        if not isinstance(label, str) or not label.strip():
            errors.append(f"{fname}: patterns: item {i} needs a label (shown as evidence)")
            continue
        if w is not None:
            out.append(Pattern(rx, w, label.strip()))
    return out


def _combos(data, fname, errors, normalize) -> list[Combo]:
    v = data.get("combos", [])
    if not isinstance(v, list):
        errors.append(f"{fname}: combos: must be a list of {{all: [[...], [...]], weight}}")
        return []
    out = []
    for i, item in enumerate(v, 1):
        groups = item.get("all") if isinstance(item, dict) else None
        if (not isinstance(groups, list) or len(groups) < 2
                or not all(isinstance(g, list) and g and all(isinstance(p, str) for p in g) for g in groups)):
            errors.append(f"{fname}: combos: item {i} 'all' must be a list of at least 2 non-empty phrase lists")
            continue
        ok = all(_phrase_ok(p, fname, f"combos: item {i}", errors, normalize) for g in groups for p in g)
        w = _weight(item.get("weight"), fname, f"combos: item {i}", errors, allow_negative=False)
        if ok and w is not None:
            label = item.get("label") or "+".join(g[0] for g in groups)
            out.append(Combo(tuple(tuple(g) for g in groups), w, str(label)))
    return out


def _situations(data, fname, errors, intent) -> list[Situation]:
    v = data.get("situations", [])
    if not isinstance(v, list):
        errors.append(f"{fname}: situations: must be a list of {{id, when, say}}")
        return []
    out, seen = [], set()
    for i, item in enumerate(v, 1):
        where = f"{fname}: situations: item {i}"
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in ("id", "when", "say")):
            errors.append(f"{where} needs 'id', 'when' (regex) and 'say' (text)")
            continue
        extra = set(item) - {"id", "when", "unless", "keep", "say"}
        if extra:
            errors.append(f"{where} has unknown keys {sorted(extra)}")
        if item["id"] in seen:
            errors.append(f"{where} repeats id {item['id']!r}")
        seen.add(item["id"])
        when = _compile_pattern(item["when"], where, errors)
        unless = None
        if "unless" in item:
            unless = _compile_pattern(str(item["unless"]), where, errors)
        say = item["say"].strip()
        if not say or len(say) > SAY_MAX:
            errors.append(f"{where} say must be 1 to {SAY_MAX} chars (has {len(say)})")
        if not isinstance(item.get("keep", False), bool):
            errors.append(f"{where} keep must be true or false")
        if when is not None and ("unless" not in item or unless is not None):
            out.append(Situation(item["id"], when, say, unless, bool(item.get("keep", False)), intent))
    return out


def _all_texts(data) -> list[tuple[str, str]]:
    """(field, text) for every human-readable text of a scenario file."""
    out = []
    for key in ("name", "short", "summary", "now", "case", "ask"):
        if isinstance(data.get(key), str):
            out.append((key, data[key]))
    for item in data.get("situations") or []:
        if isinstance(item, dict) and isinstance(item.get("say"), str):
            out.append(("situations", item["say"]))
    for key in ("how", "red_flags", "advice", "first_steps"):
        v = data.get(key)
        if isinstance(v, str):
            out.append((key, v))
        elif isinstance(v, list):
            out.extend((key, s) for s in v if isinstance(s, str))
    return out


def check_facts(fname: str, texts: list[tuple[str, str]], errors: list[str]) -> None:
    for key, text in texts:
        for rx, reason in FORBIDDEN_FACTS:
            m = rx.search(text)
            if m:
                errors.append(f"{fname}: {key}: wrong fact {m.group(0)!r}: {reason}")
        for rx, ok, reason, whole_text in CONTEXT_FACTS:
            for m in rx.finditer(text):
                starts = [e.end() for e in _SENTENCE_END.finditer(text, 0, m.start())]
                end = _SENTENCE_END.search(text, m.end())
                around = text if whole_text else text[(starts[-1] if starts else 0):(end.start() if end else len(text))]
                if not ok.search(around):
                    errors.append(f"{fname}: {key}: wrong fact {m.group(0)!r}: {reason}")
                    break


# after_scam must lead with these four steps, in this order (fraud-facts.md §1).
_FIRST_STEP_RULES = (
    (("停止", "屏幕共享"), "step 1 must say stop paying and end screen sharing (停止…屏幕共享)"),
    (("110", "紧急止付"), "step 2 must say call 110 at once; police request the emergency payment stop (紧急止付)"),
    (("银行",), "step 3 must say call the bank about leaked cards or codes (银行)"),
    (("证据",), "step 4 must say keep the evidence (证据)"),
)


def _scenario(path: Path, data, errors: list[str], normalize, intents: tuple[str, ...]) -> Scenario | None:
    fname = path.name
    intent = path.stem
    n_before = len(errors)
    if not isinstance(data, dict):
        errors.append(f"{fname}: file: must be a mapping of fields (got {type(data).__name__})")
        return None
    for key in sorted(set(data) - _FIELDS):
        errors.append(f"{fname}: {key}: unknown field")
    sc = Scenario(
        id=intent,
        kind=str(data.get("kind") or ""),
        name=_text(data, "name", fname, errors),
        short=_text(data, "short", fname, errors),
        summary=_text(data, "summary", fname, errors),
        how=_text_list(data, "how", fname, errors, 1, 8, item_max=120),
        red_flags=_text_list(data, "red_flags", fname, errors, 3, 5, item_max=40),
        advice=_text_list(data, "advice", fname, errors, 2, 8, item_max=90),
        now=_text(data, "now", fname, errors),
        case=_text(data, "case", fname, errors),
        keywords=_weighted_phrases(data, "keywords", fname, errors, normalize, min_items=8),
        words=_weighted_phrases(data, "words", fname, errors, normalize),
        patterns=_patterns(data, fname, errors),
        combos=_combos(data, fname, errors, normalize),
        first_steps=_text_list(data, "first_steps", fname, errors, 4, 4, item_max=60,
                               required=intent == "after_scam"),
        ask=_text(data, "ask", fname, errors, required=data.get("kind") == "fraud"),
        situations=_situations(data, fname, errors, intent),
        source=str(path),
    )
    dom = data.get("dominates", [])
    if not isinstance(dom, list) or not all(isinstance(x, str) for x in dom):
        errors.append(f"{fname}: dominates: must be a list of intent ids")
    else:
        for x in dom:
            if x not in intents or x == intent:
                errors.append(f"{fname}: dominates: {x!r} is not another intent id")
        sc.dominates = list(dom)
    if intent != "after_scam" and "first_steps" in data:
        errors.append(f"{fname}: first_steps: only after_scam has first_steps")
    if intent == "after_scam" and len(sc.first_steps) == 4:
        for i, (needles, reason) in enumerate(_FIRST_STEP_RULES):
            if not all(n in sc.first_steps[i] for n in needles):
                errors.append(f"{fname}: first_steps: {reason}")
    all_text = " ".join(t for _, t in _all_texts(data))
    if intent != "after_scam" and sc.advice and not any(h in " ".join(sc.advice) for h in ("110", "96110")):
        errors.append(f"{fname}: advice: must name 110 or 96110 somewhere")
    if "96110" in all_text and "110" not in all_text.replace("96110", ""):
        errors.append(f"{fname}: advice: mentions 96110 but never 110 (110 is the number to report a crime)")
    check_facts(fname, _all_texts(data), errors)
    return sc if len(errors) == n_before else None


def _lexicon(path: Path, errors: list[str]) -> Lexicon | None:
    fname = path.name
    data = read_yaml(path, errors)
    if data is None:
        if path.exists() and not errors:
            errors.append(f"{fname}: file: empty")
        elif not path.exists():
            errors.append(f"{fname}: file: missing")
        return None
    n_before = len(errors)
    if not isinstance(data, dict):
        errors.append(f"{fname}: file: must be a mapping")
        return None
    for key in sorted(set(data) - {"typos", "abbreviations", "suspicion", "suspicion_patterns", "legit",
                                   "legit_void", "after_state", "forwarded", "negators", "hearsay",
                                   "notice"}):
        errors.append(f"{fname}: {key}: unknown field")

    def mapping(key) -> dict[str, str]:
        v = data.get(key) or {}
        if not isinstance(v, dict) or not all(isinstance(k, str) and isinstance(x, str) and k and x
                                              for k, x in v.items()):
            errors.append(f"{fname}: {key}: must be a mapping of text: text")
            return {}
        return dict(v)

    typos = mapping("typos")
    abbreviations = mapping("abbreviations")
    for k in abbreviations:
        if not re.fullmatch(r"[a-z0-9]+", k):
            errors.append(f"{fname}: abbreviations: {k!r} must be lowercase latin letters/digits")
    def cue_map(v, where) -> dict[str, float]:
        out = {}
        for k, w in v.items():
            weight = _weight(w, fname, f"{where}: {k!r}", errors, allow_negative=False)
            if weight is not None:
                out[str(k)] = weight
        return out

    # suspicion: {family: {cue: weight}}; a flat {cue: weight} mapping is one family "generic"
    suspicion: dict[str, dict[str, float]] = {}
    sv = data.get("suspicion") or {}
    if not isinstance(sv, dict):
        errors.append(f"{fname}: suspicion: must be a mapping of family: {{phrase: weight}}")
    elif all(_is_number(w) for w in sv.values()):
        suspicion["generic"] = cue_map(sv, "suspicion")
    else:
        for fam, cues in sv.items():
            if not isinstance(cues, dict):
                errors.append(f"{fname}: suspicion: {fam}: must be a mapping of phrase: weight")
                continue
            suspicion[str(fam)] = cue_map(cues, f"suspicion: {fam}")
    suspicion_patterns = []
    for i, item in enumerate(data.get("suspicion_patterns") or [], 1):
        if not isinstance(item, dict) or not isinstance(item.get("re"), str) or "family" not in item:
            errors.append(f"{fname}: suspicion_patterns: item {i} needs 're', 'family' and 'weight'")
            continue
        rx = _compile_pattern(item["re"], f"{fname}: suspicion_patterns: item {i}", errors)
        if rx is None:
            continue
        w = _weight(item.get("weight"), fname, f"suspicion_patterns: item {i}", errors, allow_negative=False)
        if w is not None:
            suspicion_patterns.append((str(item["family"]), rx, w))
    lv = data.get("legit") or {}
    if not isinstance(lv, dict):
        errors.append(f"{fname}: legit: must be a mapping of phrase: weight")
        lv = {}
    legit = cue_map(lv, "legit")
    hv = data.get("hearsay") or {}
    if not isinstance(hv, dict):
        errors.append(f"{fname}: hearsay: must be a mapping of phrase: weight")
        hv = {}
    hearsay = cue_map(hv, "hearsay")
    legit_void = data.get("legit_void") or []
    if not isinstance(legit_void, list) or not all(isinstance(x, str) and x for x in legit_void):
        errors.append(f"{fname}: legit_void: must be a list of texts")
        legit_void = []
    after_state: dict[str, list[re.Pattern]] = {}
    av = data.get("after_state") or {}
    if not isinstance(av, dict):
        errors.append(f"{fname}: after_state: must be a mapping of gone/now/still: [regex]")
        av = {}
    for key in sorted(set(av) - {"gone", "now", "still"}):
        errors.append(f"{fname}: after_state: {key}: unknown field (gone, now, still)")
    for key in ("gone", "now", "still"):
        items = av.get(key) or []
        if av and not items:
            errors.append(f"{fname}: after_state: {key}: missing")
        if not isinstance(items, list):
            errors.append(f"{fname}: after_state: {key}: must be a list of regexes")
            continue
        out = []
        for i, rx in enumerate(items, 1):
            try:
                c = re.compile(rx)
            except (re.error, TypeError) as exc:
                errors.append(f"{fname}: after_state: {key}: item {i} regex does not compile: {exc}")
                continue
            if c.search(""):
                errors.append(f"{fname}: after_state: {key}: item {i} regex matches empty text")
                continue
            out.append(c)
        after_state[key] = out
    notice: dict[str, re.Pattern] = {}
    nv = data.get("notice") or {}
    if not isinstance(nv, dict):
        errors.append(f"{fname}: notice: must be a mapping of {'/'.join(NOTICE_PARTS)}: regex")
        nv = {}
    for key in sorted(set(nv) - set(NOTICE_PARTS)):
        errors.append(f"{fname}: notice: {key}: unknown field ({', '.join(NOTICE_PARTS)})")
    for key in NOTICE_PARTS if nv else ():
        if not isinstance(nv.get(key), str):
            errors.append(f"{fname}: notice: {key}: missing (a regex)")
            continue
        rx = _compile_pattern(nv[key], f"{fname}: notice: {key}:", errors)
        if rx is not None:
            notice[key] = rx
    forwarded = []
    for i, rx in enumerate(data.get("forwarded") or [], 1):
        try:
            forwarded.append(re.compile(rx))
        except (re.error, TypeError) as exc:
            errors.append(f"{fname}: forwarded: item {i} regex does not compile: {exc}")
    negators = data.get("negators") or []
    if not isinstance(negators, list) or not all(isinstance(x, str) and x for x in negators):
        errors.append(f"{fname}: negators: must be a list of texts")
        negators = []
    if len(errors) != n_before:
        return None
    # cues are compared with normalised text, so they must be written normalised
    norm = Normalizer(Lexicon(typos, abbreviations, {}, [], []))
    cues = [(f"suspicion: {fam}", c) for fam, m in suspicion.items() for c in m]
    cues += [("legit", c) for c in legit] + [("legit_void", c) for c in legit_void]
    cues += [("hearsay", c) for c in hearsay]
    cues += [("negators", c) for c in negators]
    for where, c in cues:
        _phrase_ok(c, fname, where, errors, norm)
    if len(errors) != n_before:
        return None
    return Lexicon(typos, abbreviations, suspicion, forwarded, negators, str(path),
                   suspicion_patterns, legit, list(legit_void), after_state, hearsay, notice)


def load_library(path: str | Path | None = None, lexicon_path: str | Path | None = None,
                 weights_path: str | Path | None = None, with_weights: bool = True) -> Library:
    """Load and validate every scenario file (and the learned weights); raise ContentError
    listing all problems. ``with_weights=False`` is for training, which makes the weights."""
    directory = Path(path) if path is not None else DEFAULT_DIR
    errors: list[str] = []
    cat = read_catalog(directory, errors)
    for required in REQUIRED_SERVICE_INTENTS:
        if cat.by_id.get(required) is None or cat.by_id[required].kind != "service":
            errors.append(f"{required}.yaml: file: missing (the service intent {required} is answered by the code)")
    weights = Weights.load(Path(weights_path or WEIGHTS_PATH), errors, cat.labels) if with_weights else None
    lexicon = _lexicon(Path(lexicon_path) if lexicon_path else LEXICON_PATH, errors)
    # keywords are checked against the same normalisation the matcher applies to messages
    normalize = Normalizer(lexicon) if lexicon is not None else Normalizer(None)
    if not directory.is_dir():
        raise ContentError(errors + [f"{directory}: file: scenario directory not found"])
    scenarios: dict[str, Scenario] = {}
    files = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml"))
    seen = set()
    for p in files:
        if p.stem not in cat.by_id:          # its id or kind is wrong: reported by read_catalog
            continue
        if p.stem in seen:
            errors.append(f"{p.name}: file: duplicate file for intent {p.stem}")
            continue
        seen.add(p.stem)
        data = read_yaml(p, errors)
        if data is None:
            if not any(e.startswith(f"{p.name}:") for e in errors):
                errors.append(f"{p.name}: file: empty")
            continue
        sc = _scenario(p, data, errors, normalize, cat.intents)
        if sc is not None:
            scenarios[sc.id] = sc
    if errors:
        raise ContentError(errors)
    return Library(scenarios=scenarios, lexicon=lexicon, path=directory, weights=weights, catalog=cat)
