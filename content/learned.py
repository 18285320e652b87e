"""Learned word weights: what labelled resident messages teach the matcher.

``content/examples/*.jsonl`` hold labelled messages, one ``{"text": ..., "intent": ...}`` a line:
questions residents asked and test sets written for the project. ``python -m bot train`` fits a
multinomial logistic regression (scikit-learn) on binary features of the normalised text —
single characters, character pairs and jieba words — and writes ``content/weights.json``: for
each feature, a weight per intent. At run time a message's score for an intent is the sum of
its features' weights (no scikit-learn needed); a softmax turns the scores into probabilities.

Why learned weights beside the hand-written keywords: residents describe the same pretext in
endless new words. Hand-written keyword families reached 0.84 on messages nobody had tuned on;
weights learned from ~1,900 labelled messages generalise to 0.95 on such messages (README).

The file records a fingerprint of what it was trained on (the examples, the lexicon, the
library's phrases, which decide jieba's words); ``check-content`` says when it is out of date.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from .files import JIEBA_MIN_FREQ, PACKAGE_DIR, ContentError
from .intents import catalog

if TYPE_CHECKING:
    from .library import Library

EXAMPLES_DIR = PACKAGE_DIR / "examples"
WEIGHTS_PATH = PACKAGE_DIR / "weights.json"
FORMAT = 1
C = 30.0          # inverse regularisation strength; chosen by leave-one-file-out accuracy
PRUNE = 0.1       # weights smaller than this are dropped from the file (no change in accuracy)
# notification previews show a message's first characters only: every example at least
# PREVIEW_MARGIN characters longer than a cut also trains as its first cut characters
# (held out, they lifted set_n from 0.946 to 0.959 and set_m/o/p cut to 40 characters from
# 0.78 to 0.86; content/README.md)
PREVIEW: tuple[int, ...] = (40, 70)
PREVIEW_MARGIN = 20

_WS = re.compile(r"\s+")


def features(norm: str, tokens: Iterable[str]) -> set[str]:
    """Binary features of a normalised message: characters, character pairs, jieba words (w:)."""
    s = _WS.sub(" ", norm).strip()
    out = set(s)
    out.update(s[i:i + 2] for i in range(len(s) - 1))
    out.update("w:" + t for t in tokens if t.strip())
    return {f for f in out if " " not in f}


# ---------------------------------------------------------------- examples

@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    source: str  # "file:line"

    @property
    def file(self) -> str:
        return self.source.rsplit(":", 1)[0]


def load_examples(directory: str | Path | None = None, errors: list[str] | None = None,
                  labels: tuple[str, ...] | None = None) -> list[Example]:
    """Every labelled line of directory/*.jsonl (default content/examples/); bad lines are reported
    as ``file:line: field: reason``. `labels`: the intents and none (default: those of the
    scenario files, content.intents)."""
    labels = labels if labels is not None else catalog().labels
    directory = Path(directory) if directory else EXAMPLES_DIR
    own = errors if errors is not None else []
    out: list[Example] = []
    files = sorted(Path(directory).glob("*.jsonl"))
    if not files:
        own.append(f"{directory}: file: no *.jsonl example files")
    for p in files:
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{p.name}:{n}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                own.append(f"{where}: line: not JSON ({exc.msg})")
                continue
            if not isinstance(obj, dict):
                own.append(f"{where}: line: expected an object with text and intent")
                continue
            text, intent = obj.get("text"), obj.get("intent")
            if not isinstance(text, str) or not text.strip():
                own.append(f"{where}: text: missing or empty")
            elif intent not in labels:
                own.append(f"{where}: intent: {intent!r} is not one of {', '.join(labels)}")
            else:
                out.append(Example(text, intent, where))
    if errors is None and own:
        raise ContentError(own)
    return out


def fingerprint(examples: list[Example], lib: "Library") -> str:
    """What the weights depend on: the examples, the normalisation and jieba's user words."""
    h = hashlib.sha256()
    h.update(f"format {FORMAT} C {C} prune {PRUNE} jieba {JIEBA_MIN_FREQ} no HMM preview {PREVIEW} "
             f"{PREVIEW_MARGIN}\n".encode())
    for e in examples:
        h.update(f"{e.intent}\t{e.text}\n".encode())
    lexicon = Path(lib.lexicon.source) if lib.lexicon.source else None
    if lexicon and lexicon.is_file():
        h.update(lexicon.read_bytes())
    phrases = sorted({p for sc in lib.scenarios.values() for p in list(sc.keywords) + list(sc.words)})
    h.update("\n".join(phrases).encode())
    return h.hexdigest()[:16]


# ---------------------------------------------------------------- weights

class Weights:
    """Per-feature weights for every label; ``probabilities`` scores one message."""

    def __init__(self, labels: list[str], bias: list[float], table: dict[str, list[tuple[int, float]]],
                 trained_on: str = "", examples: int = 0):
        self.labels = labels
        self.bias = bias
        self.table = table
        self.trained_on = trained_on
        self.examples = examples

    def probabilities(self, feats: Iterable[str]) -> dict[str, float]:
        table = self.table
        known = [table[f] for f in feats if f in table]
        z = list(self.bias)
        if known:
            total = [0.0] * len(z)
            for entries in known:
                for i, w in entries:
                    total[i] += w
            scale = 1.0 / math.sqrt(len(known))   # the row was L2-normalised in training
            z = [b + t * scale for b, t in zip(z, total)]
        top = max(z)
        e = [math.exp(v - top) for v in z]
        total = sum(e)
        return {label: v / total for label, v in zip(self.labels, e)}

    def decisive(self, feats: Iterable[str], label: str, vocabulary: set[str], n: int = 4) -> list[str]:
        """The words of ``vocabulary`` (the library's phrases and cues: words a resident
        recognises, not 的/您) that pushed hardest towards label."""
        i = self.labels.index(label)
        scored = []
        for f in feats:
            if f.startswith("w:") and f[2:] in vocabulary:
                w = dict(self.table.get(f, ())).get(i, 0.0)
                if w > 0:
                    scored.append((w, f[2:]))
        return [word for _, word in sorted(scored, key=lambda x: (-x[0], x[1]))[:n]]

    @classmethod
    def load(cls, path: Path, errors: list[str], labels: tuple[str, ...]) -> "Weights | None":
        """The weights file for these labels (the intents and none), or None with the reason in errors."""
        name = Path(path).name
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            errors.append(f"{name}: file: missing (run: python -m bot train)")
            return None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            errors.append(f"{name}: file: not readable JSON ({exc})")
            return None
        return cls.from_doc(data, errors, name, labels)

    @classmethod
    def load_doc(cls, data: dict) -> "Weights":
        """Weights from a document ``train`` just returned."""
        errors: list[str] = []
        out = cls.from_doc(data, errors, "weights")
        if out is None:
            raise ValueError("; ".join(errors))
        return out

    @classmethod
    def from_doc(cls, data, errors: list[str], name: str,
                 expected: tuple[str, ...] | None = None) -> "Weights | None":
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            errors.append(f"{name}: format: expected {FORMAT} (run: python -m bot train)")
            return None
        labels, bias, raw = data.get("labels"), data.get("bias"), data.get("weights")
        if not isinstance(labels, list) or (expected is not None and sorted(labels) != sorted(expected)):
            errors.append(f"{name}: labels: must be exactly the intents and none (run: python -m bot train)")
            return None
        if not isinstance(bias, list) or len(bias) != len(labels) or \
                not all(isinstance(b, (int, float)) for b in bias):
            errors.append(f"{name}: bias: one number per label")
            return None
        if not isinstance(raw, dict):
            errors.append(f"{name}: weights: expected feature -> {{label: weight}}")
            return None
        index = {label: i for i, label in enumerate(labels)}
        table: dict[str, list[tuple[int, float]]] = {}
        for feat, per in raw.items():
            if not isinstance(per, dict) or not all(k in index and isinstance(v, (int, float))
                                                    for k, v in per.items()):
                errors.append(f"{name}: weights.{feat}: expected {{label: weight}} with known labels")
                return None
            table[feat] = [(index[k], float(v)) for k, v in per.items()]
        return cls(labels, [float(b) for b in bias], table, str(data.get("trained_on", "")),
                   int(data.get("examples", 0)))


def previews(examples: list[Example], cuts: tuple[int, ...] | None = None,
             margin: int | None = None) -> list[Example]:
    """The first ``cut`` characters of every example at least ``margin`` characters longer than
    that: what a phone's notification shows of a pasted SMS or chat message, with the label of
    the whole message."""
    cuts = PREVIEW if cuts is None else cuts
    margin = PREVIEW_MARGIN if margin is None else margin
    return [Example(e.text[:cut], e.intent, f"{e.source}~{cut}")
            for cut in cuts for e in examples if len(e.text) >= cut + margin]


def train(examples: list[Example], matcher, c: float = C, prune: float = PRUNE) -> dict:
    """Fit the weights on examples; returns the JSON document ``Weights.load`` reads.

    ``matcher`` supplies the normalisation and jieba words, so training and answering see a
    message the same way.
    """
    try:
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import normalize
    except ImportError as exc:  # pragma: no cover - scikit-learn is in requirements.txt
        raise RuntimeError("training needs scikit-learn (pip install -r requirements.txt)") from exc
    examples = list(examples)
    taught = examples + previews(examples)
    rows = [sorted(features(n, matcher.tokens(n))) for n in (matcher.normalize(e.text) for e in taught)]
    vec = CountVectorizer(analyzer=lambda feats: feats, binary=True)
    x = normalize(vec.fit_transform(rows))
    y = [e.intent for e in taught]
    missing = [label for label in matcher.lib.catalog.labels if label not in set(y)]
    if missing:
        raise ValueError(f"no examples for: {', '.join(missing)}")
    model = LogisticRegression(C=c, max_iter=5000).fit(x, y)
    labels = [str(label) for label in model.classes_]
    weights: dict[str, dict[str, float]] = {}
    for feat, j in sorted(vec.vocabulary_.items()):
        col = model.coef_[:, j]
        per = {labels[i]: round(float(w), 4) for i, w in enumerate(col) if abs(w) >= prune}
        if per:
            weights[feat] = per
    return {"format": FORMAT, "labels": labels, "bias": [round(float(b), 4) for b in model.intercept_],
            "trained_on": fingerprint(examples, matcher.lib), "examples": len(examples), "C": c,
            "prune": prune, "weights": weights}


def save(doc: dict, path: Path = WEIGHTS_PATH) -> None:
    # one feature a line: a retrained file diffs readably
    lines = [json.dumps(k, ensure_ascii=False) + ": " + json.dumps(v, ensure_ascii=False, sort_keys=True)
             for k, v in doc["weights"].items()]
    head = {k: v for k, v in doc.items() if k != "weights"}
    body = json.dumps(head, ensure_ascii=False)[:-1] + ', "weights": {\n' + ",\n".join(lines) + "\n}}\n"
    Path(path).write_text(body, encoding="utf-8")
