"""Intent matcher: learned word weights decide, hand-written keywords and rules vote.

1. ``rule_match``: the hand-written library, per intent, on the normalised message:
   - keywords: phrases searched in the normalised raw text (not only in jieba tokens, so a
     library word that jieba swallows into a longer dictionary word still counts); a phrase
     inside a longer matched phrase of the same intent counts once (the longer one);
   - words: whole jieba tokens only (short, ambiguous words: 老师 must not fire inside 老师傅);
   - patterns: regexes for forwarded texts (links, 验证码 requests, account numbers ...);
   - combos: every group of phrases must be present ("老师" + "转给我");
   - a phrase right after a negator ("不是刷单", "不要把卡借给") does not count, and a clause
     the writer already dismisses ("我知道刷单是骗人的，可…") counts only a third;
   - a generic suspicion bonus (先交钱, 靠谱吗, 验证码, a link ...) is added, capped, to intents
     that already have topic evidence of their own; it never creates an intent by itself.
2. ``match``: the learned weights (content.learned) give every label, ``none`` included, a
   probability; each rule score adds at most RULE_VOTE, the rules' ``none`` adds half of it,
   "money gone, what now?" adds AFTER_VOTE to after_scam, an anti-fraud notice or a service SMS
   (lexicon notice) adds NOTICE_VOTE to none. The highest total wins; a runner-up intent at
   CLARIFY_SHARE of it sets ``clarify`` so the reply asks which one the resident means; a fraud
   type close to a winning none (SUSPECT_*) is named as a suspicion (``suspect``) and the reply
   asks. Last, a library situation (0096110, a 96110 warning call, cash for someone at the door,
   screen sharing, the wrong-password myth) sets the reply's opening and, unless the weights
   named a fraud type it keeps, the intent.
Evidence shown to residents: the link, the hand-written phrases, then library words the weights
leaned on, then the generic cues.
"""
from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .learned import features
from .files import JIEBA_MIN_FREQ
from .library import NONE, Library, Situation
from .normalize import Normalizer

THRESHOLD = 2.0          # final score needed to name an intent
MIN_TOPIC = 1.0          # topic evidence needed before the full suspicion bonus is added
WEAK_TOPIC = 0.5         # topic evidence that gets half the bonus (one weak but on-topic word)
SUSPICION_CAP = 1.5      # most the generic cues can add
URL_CUE = 0.5            # a link counts as a "channel" cue
CLARIFY_RATIO = 0.92     # second/first at or above this -> ask back (rules alone)
RULE_VOTE = 0.3          # most the hand-written keywords add to a learned probability
RULE_HALF = 2.0          # the rule score at which they add half of that
CLARIFY_SHARE = 0.6      # runner-up at this share of the best combined score -> ask back
AFTER_VOTE = 0.3         # added to after_scam when money is gone and the writer asks what now
# suspect and ask: ``none`` won, but one fraud type reaches SUSPECT_SHARE of none's score and
# SUSPECT_LEAD times the next intent's, and the message is a pasted text or has a generic fraud
# cue -> name that type as a suspicion and ask one question (chosen held out, content/README.md)
SUSPECT_SHARE = 0.5
NOTICE_LEGIT = 1.0  # legit + hearsay cues from which a message is a notice, not a situation
# an anti-fraud notice (lexicon.yaml: notice) names scams without being one: none gets this much
# (the learned weights alone took 4 in 10 held-out notices for the scam they warn about)
NOTICE_VOTE = 1.0
SUSPECT_LEAD = 3.0
SUSPECT_MIN_BONUS = 0.4  # the generic cue must be more than a weak lure word (免费)
DISMISSED_FACTOR = 1 / 3  # weight of phrases inside a clause the writer dismisses
MAX_EVIDENCE = 6
# no generic fraud cue at all (nothing to pay, move, hand over, hide, fear or doubt) and not a
# pasted text: a pile of weak topic words ("老师" + "校服") is not enough to name an intent;
# one piece of evidence must be a strong one
NO_CUE_STRONGEST = 1.5
# second chance: strong generic pressure (several cue families) and one intent clearly on topic
SECOND_MIN_BONUS = 1.0     # suspicion bonus (after legit) needed
SECOND_MIN_FAMILIES = 2    # ... from at least this many cue families
SECOND_MIN_TOPIC = 0.5     # the intent's own evidence
SECOND_MIN_SCORE = 1.5     # its final score
SECOND_MARGIN = 0.5        # lead over the runner-up
AFTER_SCAM = "after_scam"

_URL = re.compile(
    r"(?:https?://)?(?:[a-z0-9-]+\.)+(?:cn|com|net|top|vip|cc|xyz|club|site|shop|online|info|org|"
    r"me|io|ltd|icu|fun|link|live|tk|app|ink|wang|pro|asia|work|co)(?:/[\w\-./?%&=#]*)?(?![a-z])"
)
_CLAUSE_SPLIT = re.compile(r"[,.!?;，。！？；、\s]+|(?<=[的了])(?=可是|可|但是|但|不过|那|然后|这回|这次)")
_DISMISS = re.compile(
    r"(知道|晓得|明白|清楚|听说|都说|懂|天天讲|电视上讲|新闻上说|宣传)[^,.!?;，。！？；]{0,16}(是骗|骗人|骗老|诈骗|是假|假的|套路|不能信|不靠谱|得在|要在)"
)
# a correction: "我不是跟网上对象投的 是我同学介绍的…" -- the first clause is what the case is not
_CORRECTED = re.compile(r"^(我|俺|他|她|咱|这|这个|那|也)?(也|可|又|倒)?(不是|并不是|并非)")
_CORRECTION = re.compile(r"^(而|就|只|俺|我|他|她|这)?是")

_log = logging.getLogger(__name__)


@dataclass
class Match:
    intent: str
    score: float
    candidates: list[tuple[str, float]] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    clarify: tuple[str, str] | None = None
    forwarded: bool = False
    text: str = ""  # the normalised text the decision was made on
    # hand-written evidence per intent and the generic cues found (used to explain a decision)
    detail: dict = field(default_factory=dict, repr=False, compare=False)
    # ``none`` nearly won: the intent is what the bot suspects, and the reply asks
    suspect: bool = False
    # a case with a fixed answer the reply opens with (library Situation)
    situation: Situation | None = field(default=None, compare=False)
    # the situation, not the weights, set the intent (the reply then names no fraud type)
    by_situation: bool = False

    def as_dict(self) -> dict:
        return {
            "intent": self.intent,
            "score": round(self.score, 3),
            "candidates": [[i, round(s, 3)] for i, s in self.candidates],
            "evidence": list(self.evidence),
            "clarify": list(self.clarify) if self.clarify else None,
            "forwarded": self.forwarded,
            "suspect": self.suspect,
            "situation": self.situation.id if self.situation else None,
        }


# ------------------------------------------------------------------ jieba

_JIEBA_LOCK = threading.Lock()


def _cache_dir() -> str:
    """A writable directory for jieba's dictionary cache: ./data/ of the repo, else the temp dir."""
    for cand in (os.environ.get("FANZHA_JIEBA_CACHE_DIR"),
                 str(Path(__file__).resolve().parents[1] / "data"),
                 tempfile.gettempdir()):
        if not cand:
            continue
        try:
            os.makedirs(cand, exist_ok=True)
            if os.access(cand, os.W_OK):
                return cand
        except OSError:
            continue
    return tempfile.gettempdir()


# jieba's dictionary without its rarest words: 67k of 349k entries load in a fifth of the time
# (0.2 s, not 1-1.5 s) and held-out accuracy is the same (content/README.md, round 4). The
# library's phrases are added as user words either way.


def _dictionary(directory: str) -> str:
    """jieba's dict.txt cut to words of frequency >= JIEBA_MIN_FREQ, written once into directory."""
    import jieba

    source = os.path.join(os.path.dirname(jieba.__file__), "dict.txt")
    target = os.path.join(directory, f"jieba.dict.min{JIEBA_MIN_FREQ}.txt")
    if os.path.isfile(target) and os.path.getmtime(target) >= os.path.getmtime(source):
        return target
    with open(source, encoding="utf-8") as src:
        kept = [line for line in src if len(parts := line.split()) >= 2 and int(parts[1]) >= JIEBA_MIN_FREQ]
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".jieba-dict-")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.writelines(kept)
    os.replace(tmp, target)  # atomic: another process may be writing the same file
    return target


def _new_tokenizer():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    directory = _cache_dir()
    with _JIEBA_LOCK:
        tk = jieba.Tokenizer(dictionary=_dictionary(directory))
        tk.tmp_dir = directory
        tk.cache_file = f"jieba.fanzha.min{JIEBA_MIN_FREQ}.cache"
        tk.initialize()
    return tk


# ------------------------------------------------------------------ matcher

@dataclass
class _Hit:
    intent: str
    phrase: str
    start: int
    end: int
    weight: float


class Matcher:
    def __init__(self, lib: Library, tokenizer=None):
        self.lib = lib
        self.normalize = Normalizer(lib.lexicon)
        self.negators = tuple(sorted(lib.lexicon.negators, key=len, reverse=True))
        self._neg_rx = (re.compile("(" + "|".join(map(re.escape, self.negators)) + ")"
                                   "(?:把|将|去|再|乱|随便|轻易|给|跟|和|去做|做)?$")
                        if self.negators else None)
        self.suspicion = {fam: dict(cues) for fam, cues in lib.lexicon.suspicion.items()}
        self.suspicion_patterns = list(getattr(lib.lexicon, "suspicion_patterns", []) or [])
        self.legit = dict(getattr(lib.lexicon, "legit", {}) or {})
        self.legit_void = tuple(getattr(lib.lexicon, "legit_void", ()) or ())
        self.hearsay = dict(getattr(lib.lexicon, "hearsay", {}) or {})
        self.after_state = dict(getattr(lib.lexicon, "after_state", {}) or {})
        self.forwarded_rx = list(lib.lexicon.forwarded)
        self.notice = dict(getattr(lib.lexicon, "notice", {}) or {})

        # phrase -> [(intent, weight)], bucketed by first character for a quick skip
        self._phrases: dict[str, list[tuple[str, float]]] = {}
        self._words: dict[str, list[tuple[str, float]]] = {}
        for sc in lib.scenarios.values():
            for p, w in sc.keywords.items():
                self._phrases.setdefault(p, []).append((sc.id, w))
            for p, w in sc.words.items():
                self._words.setdefault(p, []).append((sc.id, w))
        self._by_char: dict[str, list[str]] = {}
        for p in self._phrases:
            self._by_char.setdefault(p[0], []).append(p)
        self._patterns = [(sc.id, pat) for sc in lib.scenarios.values() for pat in sc.patterns]
        self._combos = [(sc.id, c) for sc in lib.scenarios.values() for c in sc.combos]
        self._dominates = [(sc.id, tuple(sc.dominates)) for sc in lib.scenarios.values() if sc.dominates]
        self._situations = [st for sc in lib.scenarios.values() for st in sc.situations]

        # words that may be shown as evidence of the learned weights
        self.vocabulary = set(self._phrases) | set(self._words) | {
            c for cues in self.suspicion.values() for c in cues}
        self.tokenizer = tokenizer or _new_tokenizer()
        # user dictionary: every library phrase becomes a jieba word
        for p in list(self._phrases) + list(self._words):
            if len(p) >= 2 and not p.isascii():
                self.tokenizer.add_word(p)

    # -------------------------------------------------------------- pieces

    def tokens(self, text: str) -> list[str]:
        # no HMM guessing of unknown words: twice as fast, and the weights see characters anyway
        return [t for t in self.tokenizer.lcut(text, HMM=False) if t.strip()]

    def is_forwarded(self, norm: str) -> bool:
        return bool(_URL.search(norm)) or any(rx.search(norm) for rx in self.forwarded_rx)

    def _negated(self, text: str, start: int, phrase: str) -> bool:
        """True when the phrase follows a negator, possibly with one filler word ("不要把卡…")."""
        if self._neg_rx is None or phrase.startswith(self.negators):
            return False
        m = self._neg_rx.search(text, max(0, start - 6), start)
        if not m:
            return False
        # "是不是刷单" asks; it does not negate
        return not (m.group(1) == "不是" and m.start() > 0 and text[m.start() - 1] == "是")

    @staticmethod
    def _dismissed_spans(text: str) -> list[tuple[int, int]]:
        """Clauses the writer dismisses before asking about something else."""
        spans = []
        pos = 0
        clauses = []
        for m in _CLAUSE_SPLIT.finditer(text):
            if m.start() > pos:
                clauses.append((pos, m.start()))
            pos = m.end()
        if pos < len(text):
            clauses.append((pos, len(text)))
        # only when something follows: "我知道…是骗人的，可这回…"
        for k, (a, b) in enumerate(clauses[:-1]):
            if _DISMISS.search(text[a:b]):
                spans.append((a, b))
            elif _CORRECTED.search(text[a:b]) and _CORRECTION.search(text[clauses[k + 1][0]:]):
                spans.append((a, b))
        return spans

    @staticmethod
    def _present(norm: str, phrase: str, dismissed: list[tuple[int, int]]) -> bool:
        """The phrase occurs outside the clauses the writer dismisses."""
        i = norm.find(phrase)
        if not dismissed:
            return i >= 0
        while i >= 0:
            if not any(a <= i < b for a, b in dismissed):
                return True
            i = norm.find(phrase, i + 1)
        return False

    def is_notice(self, norm: str) -> bool:
        """An anti-fraud notice (something general, "凡是…都是诈骗", and a warning or a speaker:
        派出所, 各位家长) or a signed service SMS that sends the reader to the sender's own app and
        has no link; either asks nothing."""
        n = self.notice
        if not n or n["question"].search(norm):
            return False
        if n["general"].search(norm) and (n["warn"].search(norm) or n["speaker"].search(norm)):
            return True
        return bool(n["service"].search(norm)) and not _URL.search(norm)

    def _cue_found(self, norm: str, cue: str) -> bool:
        i = norm.find(cue)
        while i >= 0 and self._negated(norm, i, cue):
            i = norm.find(cue, i + 1)
        return i >= 0

    def _after_state(self, norm: str) -> bool:
        """Money already gone and the writer asks what to do now (and is not still deciding)."""
        st = self.after_state
        if not st or not st.get("gone") or not st.get("now"):
            return False
        return (any(rx.search(norm) for rx in st["gone"]) and any(rx.search(norm) for rx in st["now"])
                and not any(rx.search(norm) for rx in st.get("still", ())))

    def _suspicion(self, norm: str) -> tuple[float, list[str], float]:
        """(bonus, cues, legit): per family the strongest cue, summed and capped; minus legit cues."""
        return self._pressure(norm)[:3]

    def _pressure(self, norm: str) -> tuple[float, list[str], float, int]:
        """(bonus, cues, legit, families): per family the strongest cue, summed and capped; minus
        legit cues (void when the writer's own check exposed the fraud: "老师说没发过")."""
        best: dict[str, float] = {}
        cues: list[str] = []
        for fam, table in self.suspicion.items():
            for cue, w in table.items():
                if cue in norm and self._cue_found(norm, cue):
                    cues.append(cue)
                    if w > best.get(fam, 0.0):
                        best[fam] = w
        for fam, rx, w in self.suspicion_patterns:
            if w > best.get(fam, 0.0) and rx.search(norm):
                best[fam] = w
        if _URL.search(norm):
            best["channel"] = max(best.get("channel", 0.0), URL_CUE)
        legit = sum(w for cue, w in self.legit.items() if cue in norm)
        if legit and any(v in norm for v in self.legit_void):
            legit = 0.0
        # someone else's case or the news: counts against, even though it names a scam
        legit += sum(w for cue, w in self.hearsay.items() if cue in norm)
        total = min(SUSPICION_CAP, sum(best.values()))
        return max(0.0, total - legit), cues, legit, len(best)

    # -------------------------------------------------------------- main

    def rule_match(self, text: str) -> Match:
        """The hand-written keywords, patterns and rules alone (the issue's first matcher)."""
        norm = self.normalize(text or "")
        if not norm or not any(ch.isalnum() for ch in norm):
            return Match(NONE, 0.0, text=norm)
        forwarded = self.is_forwarded(norm)
        dismissed = self._dismissed_spans(norm)

        hits: list[_Hit] = []
        for ch in set(norm):
            for phrase in self._by_char.get(ch, ()):
                start = norm.find(phrase)
                while start >= 0 and self._negated(norm, start, phrase):
                    start = norm.find(phrase, start + 1)
                if start < 0:
                    continue
                end = start + len(phrase)
                factor = DISMISSED_FACTOR if any(a <= start < b for a, b in dismissed) else 1.0
                for intent, w in self._phrases[phrase]:
                    hits.append(_Hit(intent, phrase, start, end, w * factor))

        scores: dict[str, float] = {}
        evidence: dict[str, list[tuple[float, str]]] = {}

        # a phrase inside a longer matched phrase of the same intent counts once
        hits.sort(key=lambda h: (h.intent, -(h.end - h.start)))
        kept: dict[str, list[_Hit]] = {}
        for h in hits:
            same = kept.setdefault(h.intent, [])
            if any(k.start <= h.start and h.end <= k.end for k in same):
                continue
            same.append(h)
            scores[h.intent] = scores.get(h.intent, 0.0) + h.weight
            evidence.setdefault(h.intent, []).append((h.weight, h.phrase))

        toks = self.tokens(norm)
        if self._words:
            for tok in set(toks):
                for intent, w in self._words.get(tok, ()):
                    scores[intent] = scores.get(intent, 0.0) + w
                    evidence.setdefault(intent, []).append((w, tok))

        for intent, pat in self._patterns:
            m = pat.regex.search(norm)
            if m:
                scores[intent] = scores.get(intent, 0.0) + pat.weight
                evidence.setdefault(intent, []).append((pat.weight, pat.label))

        for intent, combo in self._combos:
            if all(any(p in norm and self._present(norm, p, dismissed) for p in group) for group in combo.groups):
                scores[intent] = scores.get(intent, 0.0) + combo.weight
                evidence.setdefault(intent, []).append((combo.weight, combo.label))

        bonus, cues, legit, families = self._pressure(norm)
        final = {}
        for intent, s in scores.items():
            if s >= MIN_TOPIC:
                s += bonus
            elif s >= WEAK_TOPIC:
                s += bonus / 2
            final[intent] = s - legit
        # labelling precedence: an intent whose own evidence already reaches the threshold wins
        # over the intents it dominates (romance -> investment is jiaoyou; ongoing extortion
        # after a payment is luoliao), however strong their words are
        top = max(final.values(), default=0.0)
        # money already gone + "what now?": after_scam, whatever the fraud type was (labelling
        # rule); ongoing extortion stays luoliao through its dominance below
        after = AFTER_SCAM in self.lib.scenarios and self._after_state(norm)
        if after:
            a = max(final.get(AFTER_SCAM, 0.0), top + 0.01, THRESHOLD)
            for i in final:
                if i != AFTER_SCAM:
                    final[i] = min(final[i], a * (CLARIFY_RATIO - 0.02))
            final[AFTER_SCAM] = top = a
            scores.setdefault(AFTER_SCAM, 0.0)
            evidence.setdefault(AFTER_SCAM, []).append((2.0, "钱已转出后问怎么办"))
        for intent, dominated in self._dominates:
            if scores.get(intent, 0.0) - legit >= THRESHOLD:
                rivals = [final[d] for d in dominated if final.get(d, 0.0) >= final[intent]]
                if rivals and max(rivals) >= top:
                    final[intent] = top = max(rivals)
                    for d in dominated:  # settled by the rule: no need to ask back
                        if d in final:
                            final[d] = min(final[d], top * (CLARIFY_RATIO - 0.02))
        ranked = sorted(((i, s) for i, s in final.items() if s > 0), key=lambda x: (-x[1], x[0]))
        candidates = [(i, round(s, 3)) for i, s in ranked[:5]]

        need = THRESHOLD
        if ranked and bonus <= 0 and not forwarded and \
                max((w for w, _ in evidence.get(ranked[0][0], [])), default=0.0) < NO_CUE_STRONGEST:
            need = float("inf")  # only weak topic words and no fraud cue at all
        if ranked and need > ranked[0][1] >= SECOND_MIN_SCORE and bonus >= SECOND_MIN_BONUS \
                and families >= SECOND_MIN_FAMILIES and scores.get(ranked[0][0], 0.0) >= SECOND_MIN_TOPIC \
                and (len(ranked) == 1 or ranked[0][1] - ranked[1][1] >= SECOND_MARGIN):
            need = ranked[0][1]  # second chance: strong pressure, one intent clearly on topic
        detail = {"evidence": evidence, "cues": cues if (forwarded or bonus >= 0.5) else [],
                  "after_state": after, "tokens": toks, "bonus": bonus, "legit": legit,
                  "notice": self.is_notice(norm)}
        if not ranked or ranked[0][1] < need:
            top_ev = []
            if ranked:
                top_ev = [p for _, p in sorted(evidence.get(ranked[0][0], []), key=lambda x: -x[0])]
            return Match(NONE, ranked[0][1] if ranked else 0.0, candidates, top_ev[:MAX_EVIDENCE],
                         None, forwarded, norm, detail)

        best, best_score = ranked[0]
        clarify = None
        if len(ranked) > 1:
            second, second_score = ranked[1]
            if second_score >= THRESHOLD and second_score >= CLARIFY_RATIO * best_score:
                clarify = (best, second)
        return Match(best, round(best_score, 3), candidates, self._explain(best, norm, detail), clarify,
                     forwarded, norm, detail)

    def _explain(self, intent: str, norm: str, detail: dict, learned: list[str] = ()) -> list[str]:
        """Evidence for intent: the link, the hand-written phrases (strongest first), the words the
        learned weights leaned on, then the generic cues."""
        ev = []
        url = _URL.search(norm)
        if url:
            ev.append("链接 " + url.group(0))
        phrases = [p for _, p in sorted(detail["evidence"].get(intent, []), key=lambda x: -x[0])]
        for p in phrases + list(learned) + list(detail["cues"]):
            if p not in ev and not any(p in e for e in ev) and len(ev) < MAX_EVIDENCE:
                ev.append(p)
        return ev

    # -------------------------------------------------------------- decision

    def situation(self, norm: str) -> Situation | None:
        """The first library situation the normalised message is in."""
        return next((st for st in self._situations if st.applies(norm)), None)

    def match(self, text: str) -> Match:
        """Name the intent of one message (``_decide``), then check the situations with a fixed
        answer: one sets the intent to its scenario's (``keep``: a fraud type the weights named
        stays), except that money already gone stays after_scam."""
        r = self._decide(text)
        # a notice or a check already made ("派出所提醒…", "请转告", "打电话核实过") is no situation
        notice = r.detail.get("notice") or r.detail.get("legit", 0.0) >= NOTICE_LEGIT
        st = self.situation(r.text) if r.text and not notice else None
        if st is None:
            return r
        intent = r.intent
        if intent == AFTER_SCAM and st.intent != AFTER_SCAM:
            return r  # the after-scam steps come first
        named = st.keep and intent in self.lib.fraud_intents and not r.suspect
        if not named:
            intent = st.intent
        if intent != r.intent:
            r.evidence = self._explain(intent, r.text, r.detail)
        r.intent, r.situation, r.by_situation, r.clarify, r.suspect = intent, st, not named, None, False
        return r

    def scores(self, text: str) -> tuple[Match, set[str], dict[str, float] | None]:
        """(the rules' match, the message's features, the combined score per label): the learned
        probabilities plus the rules' votes; None without weights or text."""
        rule = self.rule_match(text)
        weights = self.lib.weights
        if weights is None or not any(ch.isalnum() for ch in rule.text):
            return rule, set(), None
        feats = features(rule.text, rule.detail["tokens"])
        final = weights.probabilities(feats)
        for intent, s in rule.candidates:
            final[intent] += RULE_VOTE * s / (s + RULE_HALF)
        if rule.intent == NONE:
            final[NONE] += RULE_VOTE / 2
        if rule.detail.get("notice"):
            final[NONE] += NOTICE_VOTE
        if rule.detail.get("after_state"):
            final[AFTER_SCAM] += AFTER_VOTE
        return rule, feats, final

    def _decide(self, text: str) -> Match:
        """Learned word weights, with the hand-written keywords, patterns and rules as a vote
        (at most RULE_VOTE); ``none`` is a label like the others. When ``none`` wins but one fraud
        type is close to it and clearly ahead of the other intents, that type is named as a
        suspicion (``suspect``): the reply says what the bot suspects and asks."""
        rule, feats, final = self.scores(text)
        if final is None:
            return rule
        weights = self.lib.weights
        norm = rule.text
        ranked = sorted(final.items(), key=lambda x: (-x[1], x[0]))
        best, best_score = ranked[0]
        intents = [(i, s) for i, s in ranked if i != NONE]
        candidates = [(i, round(s, 3)) for i, s in intents[:5] if s >= 0.01]
        if best == NONE:
            top, top_score = intents[0]
            if top in self.lib.fraud_intents and top_score >= SUSPECT_SHARE * best_score \
                    and top_score >= SUSPECT_LEAD * intents[1][1] \
                    and (rule.forwarded or rule.detail.get("bonus", 0.0) >= SUSPECT_MIN_BONUS) \
                    and not rule.detail.get("notice"):
                learned = weights.decisive(feats, top, self.vocabulary)
                return Match(top, round(top_score, 3), candidates, self._explain(top, norm, rule.detail, learned),
                             None, rule.forwarded, norm, rule.detail, suspect=True)
            learned = weights.decisive(feats, top, self.vocabulary)
            return Match(NONE, round(final[NONE], 3), candidates,
                         self._explain(top, norm, dict(rule.detail, cues=[]), learned),
                         None, rule.forwarded, norm, rule.detail)
        clarify = None
        if intents[1][1] >= CLARIFY_SHARE * best_score:
            clarify = (best, intents[1][0])
        learned = weights.decisive(feats, best, self.vocabulary)
        return Match(best, round(best_score, 3), candidates, self._explain(best, norm, rule.detail, learned),
                     clarify, rule.forwarded, norm, rule.detail)
