"""群众提问: residents' questions to the Q&A and what the bot decided, the review queue where staff mark a
wrong answer and reviewers label messages (the labels join the examples), and retraining the word
weights from them — held-out figures first, then a person applies or discards the new weights.

Residents' messages are not the linkage group: phone numbers, card numbers and names in them are masked
for everyone here.
"""
from __future__ import annotations

from urllib.parse import urlencode, urlparse

from flask import redirect, render_template, request, url_for
from sqlalchemy import select

from bot.console import access, qa_review, training
from bot.console_models import QuestionReview, TrainingRun
from bot.db import session_scope, upsert
from bot.models import InboundMessage
from bot.warnings.texts import local

NAV = [("console.questions", "群众提问", "view")]
PER_PAGE = 30


def _page() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def _back(default: str) -> str:
    """Where a form returns to: the page it was sent from (same site only)."""
    nxt = request.form.get("next", "")
    u = urlparse(nxt)
    return nxt if nxt.startswith("/console/") and not u.netloc and not u.scheme else default


def _with(url: str, **kw) -> str:
    u = urlparse(url)
    kept = "&".join(p for p in u.query.split("&") if p and p.split("=")[0] not in ("said", "refused"))
    query = "&".join(x for x in (kept, urlencode(kw)) if x)
    return f"{u.path}?{query}"


def _common(svc) -> dict:
    lib = svc.library
    return dict(decisions=qa_review.DECISIONS, intent_name=lambda i: qa_review.intent_name(lib, i),
                local=lambda t: local(svc.config, t), said=request.args.get("said"),
                refused=request.args.get("refused"))


def _question(s, svc, message_id: int):
    """The inbound message, when it is a resident's question the Q&A decided on."""
    return s.scalar(select(InboundMessage).where(InboundMessage.id == message_id,
                                                qa_review.residents_questions(svc.config)))


def register(bp) -> None:
    @bp.get("/questions")
    @access.require("view")
    def questions():
        svc = access.service()
        f = {k: request.args.get(k, "").strip() for k in ("decision", "intent", "day")}
        page = _page()
        with svc.sessions() as s:
            rows, total = qa_review.questions(s, svc.config, page=page, per_page=PER_PAGE, **f)
            queued = qa_review.questions(s, svc.config, per_page=1, queue=True)[1]
        intents = [("", "全部")] + [(i, n) for i, n in qa_review.label_choices(svc.library)] + [("clarify", "追问")]
        return render_template("console/questions.html", rows=rows, total=total, page=page, per_page=PER_PAGE,
                               f=f, args={k: v for k, v in f.items() if v}, intents=intents, queued=queued,
                               tab="recent", **_common(svc))

    @bp.get("/questions/review")
    @access.require("view")
    def questions_review():
        svc = access.service()
        page = _page()
        with svc.sessions() as s:
            rows, total = qa_review.questions(s, svc.config, page=page, per_page=PER_PAGE, queue=True)
        return render_template("console/questions_review.html", rows=rows, total=total, page=page,
                               per_page=PER_PAGE, queued=total, args={}, labels=qa_review.label_choices(svc.library),
                               can_label=access.current_user().can("question.review"), tab="review",
                               **_common(svc))

    @bp.post("/questions/<int:message_id>/wrong")
    @access.require("view")
    def question_wrong(message_id: int):
        svc, u = access.service(), access.current_user()
        back = _back(url_for("console.questions"))
        with session_scope(svc.sessions) as s:
            m = _question(s, svc, message_id)
            if m is None:
                return redirect(_with(back, refused="没有这条群众提问。"))
            review = s.scalar(select(QuestionReview).where(QuestionReview.message_id == m.id))
            if review is not None and review.marked_wrong_at is not None:
                return redirect(_with(back, refused=f"这条已由 {_person(svc, review.marked_wrong_by)} 标为答错。"))
            upsert(s, QuestionReview, dict(message_id=m.id, marked_wrong_by=u.userid, marked_wrong_at=svc.clock()),
                   ["message_id"])
            access.record(s, "question.mark_wrong", f"inbound:{m.id}", {"intent": m.intent, "decision": m.decision})
        return redirect(_with(back, said="已标为答错，已进入待复核。"))

    @bp.post("/questions/<int:message_id>/label")
    @access.require("question.review")
    def question_label(message_id: int):
        svc, u = access.service(), access.current_user()
        back = _back(url_for("console.questions_review"))
        label = request.form.get("label", "")
        choices = dict(qa_review.label_choices(svc.library))
        if label not in choices:
            return redirect(_with(back, refused="请选择这条消息的类型。"))
        with session_scope(svc.sessions) as s:
            m = _question(s, svc, message_id)
            if m is None:
                return redirect(_with(back, refused="没有这条群众提问。"))
            if not qa_review.example_text(m.text):
                return redirect(_with(back, refused="这条消息没有文字，不能作为样本。"))
            before = s.scalar(select(QuestionReview.label).where(QuestionReview.message_id == m.id))
            upsert(s, QuestionReview, dict(message_id=m.id, label=label, labelled_by=u.userid,
                                           labelled_at=svc.clock(), example_file=qa_review.LABELS_FILE),
                   ["message_id"])
            access.record(s, "question.label", f"inbound:{m.id}", {"label": label, "before": before})
        try:
            n = qa_review.write_labels(svc.sessions, svc.config)
        except OSError as exc:
            return redirect(_with(back, refused=f"标注已保存，但写样本文件失败：{exc}。下次标注或重新训练时会再写。"))
        word = "改标为" if before else "标为"
        return redirect(_with(back, said=f"已{word}「{choices[label]}」，样本文件 {qa_review.LABELS_FILE} 共 {n} 条。"
                                         "重新训练并使用后，机器人才会按新样本回答。"))

    @bp.get("/questions/training")
    @access.require("view")
    def questions_training():
        svc = access.service()
        ctx = _training_context(svc)
        with svc.sessions() as s:
            ctx["queued"] = qa_review.questions(s, svc.config, per_page=1, queue=True)[1]
        return render_template("console/questions_training.html", tab="training", **ctx, **_common(svc))

    @bp.get("/questions/training/live")
    @access.require("view")
    def questions_training_live():
        svc = access.service()
        return render_template("console/_training_run.html", **_training_context(svc), **_common(svc))

    @bp.post("/questions/training/start")
    @access.require("model.retrain")
    def training_start():
        svc, u = access.service(), access.current_user()
        try:
            run = training.start(svc, u.userid)
        except training.Refused as e:
            return redirect(url_for("console.questions_training", refused=str(e)))
        return redirect(url_for("console.questions_training", said=f"第 {run.id} 轮训练已开始，本页会自动刷新。"))

    @bp.post("/questions/training/<int:run_id>/apply")
    @access.require("model.retrain")
    def training_apply(run_id: int):
        svc, u = access.service(), access.current_user()
        try:
            text = training.apply(svc, run_id, u.userid)
        except training.Refused as e:
            return redirect(url_for("console.questions_training", refused=str(e)))
        return redirect(url_for("console.questions_training", said=text))

    @bp.post("/questions/training/<int:run_id>/discard")
    @access.require("model.retrain")
    def training_discard(run_id: int):
        svc, u = access.service(), access.current_user()
        try:
            text = training.discard(svc, run_id, u.userid)
        except training.Refused as e:
            return redirect(url_for("console.questions_training", refused=str(e)))
        return redirect(url_for("console.questions_training", said=text))


def _person(svc, userid: str | None) -> str:
    p = svc.config.person(userid or "")
    return p.name if p else (userid or "—")


def _training_context(svc) -> dict:
    with session_scope(svc.sessions) as s:
        training.current(s, svc.clock())          # a run cut off long ago is recorded as failed
        runs = list(s.scalars(select(TrainingRun).order_by(TrainingRun.id.desc()).limit(10)))
    w = svc.library.weights
    return dict(runs=runs, latest=runs[0] if runs else None, state_names=training.STATE_NAMES,
                how_names=training.HOW_NAMES, bar_problems=training.bar_problems, person=lambda x: _person(svc, x),
                bar=(training.BAR_ACCURACY, training.BAR_NONE_KEPT, training.BAR_FRAUD_TO_NONE),
                in_use_examples=getattr(w, "examples", 0), live=min(svc.config.console.live_seconds, 5),
                can_retrain=access.current_user().can("model.retrain"),
                check_seconds=int(getattr(svc, "CONTENT_CHECK_SECONDS", 30)))
