"""Command-line entry points for the content library (wired into ``python -m bot``).

cmd_check_content(argv)  validate the library: prints "ok" or every "file: field: reason" line
                         (check_content(): the same as data, for the console)
cmd_ask(argv)            "文本" -> reply + decision; --jsonl: one JSON object per stdin line
cmd_eval(argv)           FILE.jsonl (text, intent) -> accuracy, per intent, none P/R, confusion matrix
cmd_train(argv)          learn the word weights from content/examples/ (--cv: held-out accuracy)
Each returns a process exit code.
"""
from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from . import learned
from .answers import answer_for
from .intents import catalog
from .library import NONE, ContentError, Library, load_library
from .matcher import Matcher


def _take_option(argv: list[str], name: str) -> tuple[str | None, list[str]]:
    """Remove "--name VALUE" (or --name=VALUE) from argv."""
    rest, value, i = [], None, 0
    while i < len(argv):
        a = argv[i]
        if a == name and i + 1 < len(argv):
            value = argv[i + 1]
            i += 2
            continue
        if a.startswith(name + "="):
            value = a.split("=", 1)[1]
        else:
            rest.append(a)
        i += 1
    return value, rest


def _load(content_dir: str | None):
    try:
        return load_library(content_dir)
    except ContentError as exc:
        for line in exc.errors:
            print(line)
        return None


@dataclass
class ContentCheck:
    """What `check-content` finds: errors (``file: field: reason``; any one and the service would
    not start), warnings (e.g. weights trained on other examples: they still work, but retrain),
    and, when the files load, the library and the labelled examples read from disk."""
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    library: Optional[Library] = None
    examples: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


STALE_WEIGHTS = ("weights.json was trained on other examples or keywords than these; "
                 "run: python -m bot train")


def check_content(content_dir: str | Path | None = None, examples_dir: str | Path | None = None) -> ContentCheck:
    """Validate the scenario files, the lexicon, the learned weights and the labelled examples as they
    are on disk now (what `python -m bot check-content` prints; the console shows the same)."""
    try:
        lib = load_library(content_dir)
    except ContentError as exc:
        return ContentCheck(errors=list(exc.errors))
    errors: list[str] = []
    examples = learned.load_examples(examples_dir, errors, labels=lib.catalog.labels)
    if errors:
        return ContentCheck(errors=errors, library=lib)
    warnings = []
    if lib.weights is not None and lib.weights.trained_on != learned.fingerprint(examples, lib):
        warnings.append(STALE_WEIGHTS)
    return ContentCheck(warnings=warnings, library=lib, examples=examples)


def cmd_check_content(argv: list[str]) -> int:
    """Usage: check-content [--content DIR] [--examples DIR]

    Also checks the labelled examples, and says when the learned weights were trained on
    other examples or keywords than the ones now on disk (they still work, but retrain)."""
    content_dir, argv = _take_option(list(argv), "--content")
    examples_dir, _ = _take_option(argv, "--examples")
    res = check_content(content_dir, examples_dir)
    for line in res.errors:
        print(line)
    if not res.ok:
        return 1
    print("ok")
    for line in res.warnings:
        print(f"warning: {line}")
    return 0


def cmd_train(argv: list[str]) -> int:
    """Usage: train [--cv] [--examples DIR] [--out FILE] [--content DIR]

    Writes content/weights.json from content/examples/*.jsonl. --cv first prints, for every
    example file, the accuracy of weights trained on all the other files (what to expect on
    messages nobody has labelled), then trains on everything as usual."""
    argv = list(argv)
    if "--help" in argv or "-h" in argv:     # print, never train (training overwrites the weights)
        print(cmd_train.__doc__)
        return 0
    content_dir, argv = _take_option(argv, "--content")
    examples_dir, argv = _take_option(argv, "--examples")
    out, argv = _take_option(argv, "--out")
    try:
        lib = load_library(content_dir, with_weights=False)
        examples = learned.load_examples(examples_dir)
    except ContentError as exc:
        for line in exc.errors:
            print(line)
        return 1
    matcher = Matcher(lib)
    if "--cv" in argv:
        _cross_validate(lib, matcher, examples)
    try:
        doc = learned.train(examples, matcher)
    except ValueError as exc:
        print(f"cannot train: {exc}")
        return 1
    target = Path(out) if out else learned.WEIGHTS_PATH
    learned.save(doc, target)
    print(f"trained on {len(examples)} examples: {len(doc['weights'])} features -> {target}")
    return 0


def _cross_validate(lib, matcher: Matcher, examples: list) -> None:
    files = sorted({e.file for e in examples})
    print(f"{'held out':<24}{'n':>5}{'acc':>7}{'none rec':>10}{'fraud→none':>12}")
    total = correct = 0
    for name in files:
        held = [e for e in examples if e.file == name]
        rest = [e for e in examples if e.file != name]
        lib.weights = learned.Weights.load_doc(learned.train(rest, matcher))
        res = evaluate(matcher, [{"text": e.text, "intent": e.intent} for e in held])
        total += res["n"]
        correct += res["correct"]
        print(f"{name:<24}{res['n']:>5}{res['accuracy']:>7.3f}{_fmt(res['none_recall']):>10}"
              f"{_fmt(res['fraud_to_none']):>12}")
    print(f"{'all held out':<24}{total:>5}{correct / total:>7.3f}")
    lib.weights = None


def _decision(r) -> str:
    cands = ", ".join(f"{i} {s:.2f}" for i, s in r.candidates) or "-"
    parts = [f"intent={r.intent}", f"score={r.score:.2f}", f"candidates=[{cands}]",
             f"evidence=[{'、'.join(r.evidence)}]"]
    if r.clarify:
        parts.append(f"clarify={r.clarify[0]}/{r.clarify[1]}")
    if r.suspect:
        parts.append("suspect")
    if r.situation:
        parts.append(f"situation={r.situation.id}")
    if r.forwarded:
        parts.append("forwarded")
    return " ".join(parts)


def _line_text(line: str) -> str:
    line = line.rstrip("\r\n")
    s = line.strip()
    if s.startswith("{"):
        try:
            obj = json.loads(s)
        except json.JSONDecodeError:
            return line
        if isinstance(obj, dict):
            return str(obj.get("text", ""))
    return line


def cmd_ask(argv: list[str]) -> int:
    """Usage: ask [--markdown] [--content DIR] "文本" | ask --jsonl  (stdin: text or {"text": ...} per line)"""
    argv = list(argv)
    content_dir, argv = _take_option(argv, "--content")
    markdown = "--markdown" in argv
    jsonl = "--jsonl" in argv
    words = [a for a in argv if a not in ("--markdown", "--jsonl")]
    if not jsonl and not words:
        print('usage: ask [--markdown] "文本"   |   ask --jsonl < messages.jsonl')
        return 2
    lib = _load(content_dir)
    if lib is None:
        return 1
    matcher = Matcher(lib)
    if not jsonl:
        r = matcher.match(" ".join(words))
        reply = answer_for(r, lib, markdown=markdown)
        print(reply if reply else "(none: 不作答；群里被@时由处理器发送帮助语)")
        print("--")
        print(_decision(r))
        return 0
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        r = matcher.match(_line_text(line))
        obj = r.as_dict()
        record = {"intent": obj["intent"], "score": obj["score"], "candidates": obj["candidates"],
                  "evidence": obj["evidence"], "reply": answer_for(r, lib, markdown=markdown),
                  "clarify": obj["clarify"], "forwarded": obj["forwarded"], "suspect": obj["suspect"],
                  "situation": obj["situation"]}
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        out.flush()
    return 0


def evaluate(matcher: Matcher, rows: list[dict]) -> dict:
    """Predictions and the figures cmd_eval prints (also used by the tests)."""
    gold, pred, clarified, suspected = [], [], 0, 0
    for row in rows:
        r = matcher.match(row["text"])
        gold.append(row["intent"])
        pred.append(r.intent)
        clarified += r.clarify is not None
        suspected += r.suspect
    n = len(rows)
    correct = sum(g == p for g, p in zip(gold, pred))
    none_pred = sum(p == NONE for p in pred)
    none_gold = sum(g == NONE for g in gold)
    none_tp = sum(g == p == NONE for g, p in zip(gold, pred))
    fraud = [(g, p) for g, p in zip(gold, pred) if g != NONE]
    per = {}
    order = catalog().labels
    for label in sorted(set(gold) | set(pred), key=lambda x: order.index(x) if x in order else 99):
        support = sum(g == label for g in gold)
        predicted = sum(p == label for p in pred)
        tp = sum(g == p == label for g, p in zip(gold, pred))
        per[label] = {"support": support, "correct": tp,
                      "recall": tp / support if support else None,
                      "precision": tp / predicted if predicted else None}
    confusion = defaultdict(Counter)
    for g, p in zip(gold, pred):
        confusion[g][p] += 1
    return {
        "n": n, "correct": correct, "accuracy": correct / n if n else 0.0,
        "none_precision": none_tp / none_pred if none_pred else None,
        "none_recall": none_tp / none_gold if none_gold else None,
        "fraud_to_none": (sum(p == NONE for _, p in fraud) / len(fraud)) if fraud else None,
        "clarified": clarified, "suspected": suspected, "per_intent": per, "confusion": confusion,
        "errors": [(row["text"], g, p) for row, g, p in zip(rows, gold, pred) if g != p],
    }


def _fmt(x) -> str:
    return "-" if x is None else f"{x:.3f}"


def cmd_eval(argv: list[str]) -> int:
    """Usage: eval FILE.jsonl [--errors] [--content DIR]   (lines: {"text": ..., "intent": ...})"""
    argv = list(argv)
    content_dir, argv = _take_option(argv, "--content")
    show_errors = "--errors" in argv
    files = [a for a in argv if not a.startswith("--")]
    if len(files) != 1:
        print("usage: eval FILE.jsonl [--errors]")
        return 2
    rows = []
    try:
        with open(files[0], encoding="utf-8") as fh:
            for no, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                    rows.append({"text": str(obj["text"]), "intent": str(obj["intent"])})
                except (json.JSONDecodeError, KeyError, TypeError) as exc:
                    print(f"{files[0]}:{no}: not a JSON object with text and intent ({exc})")
                    return 2
    except OSError as exc:
        print(f"{files[0]}: cannot read ({exc.strerror})")
        return 2
    lib = _load(content_dir)
    if lib is None:
        return 1
    res = evaluate(Matcher(lib), rows)

    print(f"items {res['n']}  accuracy {res['accuracy']:.3f} ({res['correct']}/{res['n']})")
    print(f"none precision {_fmt(res['none_precision'])}  none recall {_fmt(res['none_recall'])}  "
          f"fraud answered none {_fmt(res['fraud_to_none'])}  clarify questions {res['clarified']}  "
          f"suspect questions {res['suspected']}")
    print()
    print(f"{'intent':<12}{'n':>4}{'ok':>4}{'recall':>8}{'prec':>8}")
    for label, v in res["per_intent"].items():
        print(f"{label:<12}{v['support']:>4}{v['correct']:>4}{_fmt(v['recall']):>8}{_fmt(v['precision']):>8}")
    print()
    labels = list(res["per_intent"])
    abbrev = {lab: lab[:5] for lab in labels}
    print("confusion (rows = gold, columns = predicted)")
    print(f"{'':<12}" + "".join(f"{abbrev[lab]:>6}" for lab in labels))
    for g in labels:
        row = res["confusion"].get(g, Counter())
        print(f"{g:<12}" + "".join(f"{(row[p] or '.'):>6}" for p in labels))
    if show_errors and res["errors"]:
        print()
        print("errors (gold -> predicted)")
        for text, g, p in res["errors"]:
            print(f"  {g} -> {p}: {text}")
    return 0


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - thin convenience wrapper
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {"check-content": cmd_check_content, "ask": cmd_ask, "eval": cmd_eval, "train": cmd_train}
    if not argv or argv[0] not in commands:
        print("usage: python -m content.cli check-content | ask \"文本\" | ask --jsonl | eval FILE.jsonl | train [--cv]")
        return 2
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
