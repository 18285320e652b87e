"""Retraining the Q&A's word weights from the console: figures first, then a person decides.

A run (TrainingRun) trains in a background thread of the web process, one at a time:
1. the reviewers' labels file is rewritten from the database (qa_review.write_labels);
2. weights are trained on every example except the dev set (its messages, wherever they occur), and
   measured on the dev set: accuracy, none kept, fraud answered none — held-out figures;
3. the new weights are trained on every example (as `python -m bot train` does) into a file of their own
   (<weights folder>/training-runs/run-N.json), never over the weights in use;
4. the weights in use get the same figures: the run they were applied from, or weights trained held out
   on the examples they were trained on (found by their fingerprint), or, when those examples are no
   longer known, the weights themselves on the dev set (then said so).
A person then applies the run (the file replaces the weights in use atomically and the service reloads
its matcher) or discards it. Applying is refused below the bar, on the held-out figures.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Optional

from sqlalchemy import select, update

from bot.console import access
from bot.console.qa_review import LABELS_FILE, write_labels
from bot.console_models import TrainingRun
from bot.db import session_scope
from content import Matcher, learned, load_library
from content.cli import evaluate
from content.files import atomic_write
from content.library import ContentError

log = logging.getLogger(__name__)

DEV_FILE = "dev_questions.jsonl"
RUNS_DIR = "training-runs"
# the bar of issue 3, on the held-out dev set
BAR_ACCURACY, BAR_NONE_KEPT, BAR_FRAUD_TO_NONE = 0.92, 0.95, 0.05
# the weights replaced by the last applied runs are kept this many times (2.5 MB each)
KEEP_BACKUPS = 5
# a run still "running" after this was cut off (its process stopped): it is recorded as failed
STALE_AFTER = dt.timedelta(minutes=15)

STATE_NAMES = {"running": "训练中", "trained": "已训练，待决定", "failed": "失败", "applied": "已使用",
               "discarded": "已放弃"}
HOW_NAMES = {
    "same": "在用模型学的就是这些样本：数字与新模型相同",
    "run": "在用模型来自第 {run} 轮训练，这是那一轮留出开发集的数字",
    "held_out": "按在用模型学过的样本（不含控制台新标注的）留出开发集重新算",
    "direct": "在用模型的训练样本已对不上现有样本，这是它直接在开发集上的成绩；它若学过开发集，数字会偏高",
    "missing": "没有在用的权重文件",
}

_LOCK = threading.Lock()
_THREADS: dict[int, threading.Thread] = {}


class Refused(Exception):
    """An action on a run that cannot be done now; the message says why (in Chinese)."""


class RetrainError(Exception):
    """Training could not run; the message says why."""


# ------------------------------------------------------------------------------------------ paths

def runs_dir(config) -> Path:
    return Path(config.weights_path).parent / RUNS_DIR


def dev_path(config) -> Path:
    """The dev set: content/examples/dev_questions.jsonl, the copy of ../shared/data/dev_questions.jsonl."""
    return Path(config.examples_path) / DEV_FILE


# ------------------------------------------------------------------------------------------ figures

def figures_of(res: dict) -> dict:
    r = (lambda x: None if x is None else round(float(x), 4))
    return {"accuracy": r(res["accuracy"]), "none_recall": r(res["none_recall"]),
            "fraud_to_none": r(res["fraud_to_none"]), "n": res["n"], "correct": res["correct"],
            "clarified": res["clarified"], "suspected": res["suspected"]}


def bar_problems(fig: Optional[dict]) -> list[str]:
    """Why figures miss the bar (empty: they meet it)."""
    if not fig:
        return ["没有留出开发集的数字"]
    out = []
    if fig.get("accuracy") is None or fig["accuracy"] < BAR_ACCURACY:
        out.append(f"准确率 {_f(fig.get('accuracy'))} 低于 {BAR_ACCURACY}")
    if fig.get("none_recall") is None or fig["none_recall"] < BAR_NONE_KEPT:
        out.append(f"无关消息保持不答（none）{_f(fig.get('none_recall'))} 低于 {BAR_NONE_KEPT}")
    if fig.get("fraud_to_none") is None or fig["fraud_to_none"] > BAR_FRAUD_TO_NONE:
        out.append(f"诈骗被当成无关 {_f(fig.get('fraud_to_none'))} 高于 {BAR_FRAUD_TO_NONE}")
    return out


def _f(x) -> str:
    return "—" if x is None else f"{x:.3f}"


def _rows(path: Path) -> list[dict]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                obj = json.loads(line)
                out.append({"text": str(obj["text"]), "intent": str(obj["intent"])})
            except (ValueError, KeyError, TypeError) as exc:
                raise RetrainError(f"开发集 {path.name} 第 {n} 行读不了：{exc}") from exc
    return out


def retrain(config, sessions, run_id: int) -> tuple[dict, int, Path]:
    """Train one run: (figures, examples trained on, the new weights' file)."""
    started = time.monotonic()
    write_labels(sessions, config)
    try:
        lib = load_library(config.content_path, with_weights=False)
        examples = learned.load_examples(config.examples_path, labels=lib.catalog.labels)
    except ContentError as exc:
        raise RetrainError("样本或场景文件有错：" + "；".join(exc.errors[:5])) from exc
    dev_file = dev_path(config)
    if not dev_file.is_file():
        raise RetrainError(f"没有开发集 {dev_file}（../shared/data/dev_questions.jsonl 的副本），无法算留出的数字")
    dev = _rows(dev_file)
    dev_texts = {r["text"] for r in dev}
    matcher = Matcher(lib)
    held = [e for e in examples if e.text not in dev_texts]
    try:
        lib.weights = learned.Weights.load_doc(learned.train(held, matcher))
        new = figures_of(evaluate(matcher, dev))
        doc = learned.train(examples, matcher)
    except ValueError as exc:
        raise RetrainError(f"不能训练：{exc}") from exc
    in_use = _in_use_figures(config, sessions, lib, matcher, examples, dev, dev_texts, new, doc["trained_on"])
    target = runs_dir(config) / f"run-{run_id}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    learned.save(doc, target)
    figures = {"new": new, "in_use": in_use, "examples": len(examples), "held_out_examples": len(held),
               "console_examples": sum(1 for e in examples if e.file == LABELS_FILE),
               "dev": {"file": dev_file.name, "n": len(dev)}, "trained_on": doc["trained_on"],
               "seconds": round(time.monotonic() - started, 1)}
    return figures, len(examples), target


def _in_use_figures(config, sessions, lib, matcher, examples, dev, dev_texts, new, new_fp) -> dict:
    errors: list[str] = []
    weights = learned.Weights.load(Path(config.weights_path), errors, lib.catalog.labels)
    if weights is None:
        return {"how": "missing", "error": "; ".join(errors)}
    fp = weights.trained_on
    known = {"examples": weights.examples, "trained_on": fp}
    dev_key = hashlib.sha256(json.dumps(dev, ensure_ascii=False).encode()).hexdigest()[:16]
    if fp == new_fp:
        return {**new, "how": "same", **known}
    with sessions() as s:
        for run in s.scalars(select(TrainingRun).where(TrainingRun.state.in_(("trained", "applied", "discarded")))
                             .order_by(TrainingRun.id.desc()).limit(50)):
            fig = run.figures or {}
            if run.state == "applied" and fig.get("trained_on") == fp and fig.get("new"):
                return {**fig["new"], "how": "run", "run": run.id, **known}
            earlier = fig.get("in_use") or {}
            if earlier.get("how") == "held_out" and earlier.get("trained_on") == fp \
                    and earlier.get("dev") == dev_key:
                # measured by an earlier run: the same weights, the same dev set
                return {**earlier, "measured_by": earlier.get("measured_by", run.id)}
    base = [e for e in examples if e.file != LABELS_FILE]
    if learned.fingerprint(base, lib) == fp:
        lib.weights = learned.Weights.load_doc(learned.train([e for e in base if e.text not in dev_texts], matcher))
        return {**figures_of(evaluate(matcher, dev)), "how": "held_out", "dev": dev_key, **known}
    lib.weights = weights
    return {**figures_of(evaluate(matcher, dev)), "how": "direct", **known}


# ------------------------------------------------------------------------------------------ runs

def current(session, now: dt.datetime) -> Optional[TrainingRun]:
    """The run in progress, if any. A run left "running" past STALE_AFTER with no thread here was cut
    off (its process stopped or restarted): it is recorded as failed."""
    for run in session.scalars(select(TrainingRun).where(TrainingRun.state == "running").order_by(TrainingRun.id)):
        alive = run.id in _THREADS and _THREADS[run.id].is_alive()
        if not alive and now - run.started_at > STALE_AFTER:
            run.state, run.finished_at = "failed", now
            run.error = f"训练没有结束（超过 {int(STALE_AFTER.total_seconds() // 60)} 分钟无结果，进程可能已重启）"
            continue
        return run
    return None


def start(svc, userid: str) -> TrainingRun:
    """Start a run in a background thread; Refused while another one runs (here or in another process)."""
    with _LOCK:
        now = svc.clock()
        with session_scope(svc.sessions) as s:
            busy = current(s, now)
            if busy is not None:
                raise Refused(f"第 {busy.id} 轮训练正在进行（{busy.started_by} 开始），完成后才能再开始。")
            run = TrainingRun(started_by=userid, started_at=now, state="running")
            s.add(run)
            s.flush()
            access.record(s, "model.retrain", f"training_run:{run.id}")
        # two processes may both have found none running: the later run gives way
        with session_scope(svc.sessions) as s:
            earlier = s.scalar(select(TrainingRun.id).where(TrainingRun.state == "running", TrainingRun.id < run.id))
            if earlier is not None:
                s.execute(update(TrainingRun).where(TrainingRun.id == run.id).values(
                    state="failed", finished_at=now, error=f"第 {earlier} 轮训练同时开始，这一轮让给它"))
                raise Refused(f"第 {earlier} 轮训练正在进行，完成后才能再开始。")
        t = threading.Thread(target=_run, args=(svc, run.id), name=f"retrain-{run.id}", daemon=True)
        _THREADS[run.id] = t
        t.start()
    return run


def thread_of(run_id: int) -> Optional[threading.Thread]:
    return _THREADS.get(run_id)


def _run(svc, run_id: int) -> None:
    try:
        figures, n, path = retrain(svc.config, svc.sessions, run_id)
        values = dict(state="trained", figures=figures, examples=n, weights_path=str(path))
    except RetrainError as exc:
        log.warning("retraining run %s failed: %s", run_id, exc)
        values = dict(state="failed", error=str(exc)[:2000])
    except Exception as exc:        # noqa: BLE001 - the run's row says what happened
        log.exception("retraining run %s failed", run_id)
        values = dict(state="failed", error=f"{type(exc).__name__}: {exc}"[:2000])
    try:
        with session_scope(svc.sessions) as s:
            s.execute(update(TrainingRun).where(TrainingRun.id == run_id, TrainingRun.state == "running")
                      .values(finished_at=svc.clock(), **values))
    finally:
        with _LOCK:
            _THREADS.pop(run_id, None)


def _decidable(s, run_id: int) -> TrainingRun:
    run = s.get(TrainingRun, run_id)
    if run is None:
        raise Refused(f"没有第 {run_id} 轮训练。")
    if run.state != "trained":
        raise Refused(f"第 {run_id} 轮训练{STATE_NAMES.get(run.state, run.state)}，不能再决定。")
    return run


def apply(svc, run_id: int, userid: str) -> str:
    """Use the run's weights: they replace the weights in use atomically (the old file is kept beside
    the runs), and this process answers with them at once. Refused below the bar."""
    target = Path(svc.config.weights_path)
    with session_scope(svc.sessions) as s:
        run = _decidable(s, run_id)
        problems = bar_problems((run.figures or {}).get("new"))
        if problems:
            raise Refused(f"第 {run_id} 轮不能使用：留出的开发集上" + "；".join(problems) + "。"
                          f"达标线：准确率 ≥ {BAR_ACCURACY}，无关消息保持不答 ≥ {BAR_NONE_KEPT}，"
                          f"诈骗被当成无关 ≤ {BAR_FRAUD_TO_NONE}。")
        source = Path(run.weights_path or "")
        if not source.is_file():
            raise Refused(f"第 {run_id} 轮的权重文件不见了（{source}），请重新训练。")
        run.state, run.decided_by, run.decided_at = "applied", userid, svc.clock()
        access.record(s, "model.apply", f"training_run:{run_id}",
                      {"figures": run.figures.get("new"), "examples": run.examples, "weights": str(target)})
        s.flush()
        try:
            backup = install(source, target)
        except OSError as exc:
            raise Refused(f"写入权重文件失败：{exc}") from exc
    source.unlink(missing_ok=True)        # it is the weights in use now
    changed = svc.reload_content()
    log.info("weights of training run %s applied by %s (%s; backup %s)", run_id, userid,
             "reloaded" if changed else "no change", backup)
    return f"已使用第 {run_id} 轮的新模型（{run.examples} 条样本）。本进程已改用新模型。"


def install(source: Path, target: Path) -> Optional[Path]:
    """Copy source over target atomically (a reader sees the old file or the new one, never half);
    the old file is kept as <runs>/before-<time>.json. Returns the backup's path."""
    target.parent.mkdir(parents=True, exist_ok=True)
    backup = None
    if target.exists():
        backup = target.parent / RUNS_DIR / f"before-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.json"
        backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, backup)
        for old in sorted(backup.parent.glob("before-*.json"))[:-KEEP_BACKUPS]:
            old.unlink(missing_ok=True)
    with open(source, "rb") as src:
        atomic_write(target, lambda out: shutil.copyfileobj(src, out), binary=True)
    return backup


def discard(svc, run_id: int, userid: str) -> str:
    with session_scope(svc.sessions) as s:
        run = _decidable(s, run_id)
        run.state, run.decided_by, run.decided_at = "discarded", userid, svc.clock()
        access.record(s, "model.discard", f"training_run:{run_id}", {"figures": (run.figures or {}).get("new")})
        path = Path(run.weights_path) if run.weights_path else None
    if path is not None and path.is_file():
        path.unlink()
    return f"已放弃第 {run_id} 轮训练，在用模型不变。"
