"""群众提问: the Q&A's score and decision on each message, the recent questions (masked, filtered, staff
left out), the review queue, labels that become one example line each, and retraining on a small copy of
the examples (held-out figures first; a second start refused; a run below the bar never applied)."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.console import qa_review, training
from bot.console_models import ConsoleAction, QuestionReview, TrainingRun
from bot.core.message import Message
from bot.db import session_scope
from bot.models import InboundMessage
from content import Matcher, learned, load_library
from content.cli import cmd_check_content
from handlers import picture
from tests.console.conftest import Console, console_config

# a small copy of the examples: two blind sets and the dev set train in about two seconds, and weights
# trained on them meet the bar on the dev set held out (0.96 / 0.97 / 0.01 when measured)
SMALL = ("blind_set_g.jsonl", "blind_set_k.jsonl", "dev_questions.jsonl")
NONE_TEXT = "今天天气怎么样"
ASK_TEXT = "老师和领导都让我转钱"          # asked back: 领导 or 老师
SUSPECT_TEXT = "领导 转账"
ANSWER_TEXT = "有人叫俺在家做任务 先垫付几百块再返佣金 中不中"
# answered none by the shipped weights, youxi by the small set's; labelled touzi, the retrained weights say touzi
TAUGHT = "俺家孩子说网上有人教他炒鞋能翻倍"


def qa_config(db_url, examples, weights):
    cfg = console_config(db_url)
    return cfg.model_copy(update={"qa": cfg.qa.model_copy(update={"examples_dir": str(examples),
                                                                   "weights_file": str(weights)})})


@pytest.fixture
def small(tmp_path):
    """(examples dir, weights file): the small examples, and a copy of the shipped weights in use."""
    ex = tmp_path / "examples"
    ex.mkdir()
    for name in SMALL:
        shutil.copy(learned.EXAMPLES_DIR / name, ex / name)
    w = tmp_path / "model" / "weights.json"
    w.parent.mkdir()
    shutil.copy(learned.WEIGHTS_PATH, w)
    return ex, w


@pytest.fixture
def qa(db_url, small) -> Console:
    return Console(qa_config(db_url, *small))


def say(svc, text, sender="res_liu", chat=None, channel="aibot", key=None):
    msg = Message(channel=channel, sender=sender, text=text, dedupe_key=key or uuid.uuid4().hex,
                  chat_type="group" if chat else "single", chat_id=chat, member=channel != "mp")
    replies = svc.inbox.receive(msg)
    with svc.sessions() as s:
        row = s.scalar(select(InboundMessage).where(InboundMessage.dedupe_key == msg.dedupe_key))
    return row, replies


def page(client, path):
    r = client.get(path)
    assert r.status_code == 200, r.data.decode()[:500]
    return r.data.decode()


def rows_of(html):
    """data-id of the question rows on a page."""
    return [int(x) for x in re.findall(r'<tr data-id="(\d+)"', html)]


def actions(s):
    """The console's record, log-ins aside."""
    return [a for a in s.scalars(select(ConsoleAction).order_by(ConsoleAction.id)) if a.action not in ("login", "logout")]


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------------------------- score and decision

def test_the_qa_stores_its_score_and_decision_next_to_the_intent(qa):
    svc = qa.service
    cases = [(NONE_TEXT, "none", "none"), (ASK_TEXT, "clarify", "ask"), (SUSPECT_TEXT, "lingdao", "suspect"),
             (ANSWER_TEXT, "shuadan", "answer")]
    for text, intent, decision in cases:
        row, _ = say(svc, text)
        assert (row.intent, row.decision) == (intent, decision), text
        assert row.score == pytest.approx(svc.matcher.match(text).score, abs=1e-3)
    # a follow-up the bot invited, and the official account's menu word and a voice message
    row, _ = say(svc, "案例")
    assert (row.intent, row.decision, row.score) == ("shuadan", "follow", None)
    row, _ = say(svc, "反诈", sender="oFollower1", channel="mp")
    assert (row.handled_by, row.decision) == ("wechat", "menu")
    # a staff command is no Q&A decision
    row, _ = say(svc, "#帮助", sender="police_duty")
    assert row.decision is None and row.score is None


def test_an_answer_that_waits_its_turn_in_a_group_still_records_its_decision(qa):
    svc = qa.service
    for i in range(svc.config.qa.group_answers_per_minute):
        say(svc, ANSWER_TEXT + "？" * i, chat="dongguan_grid")
    row, replies = say(svc, ASK_TEXT, chat="dongguan_grid")       # over the limit: the answer waits
    assert [r.text for r in replies if r.in_place][0].startswith("收到。您一分钟内问得较多")
    assert (row.intent, row.decision) == ("clarify", "ask") and row.score is not None


def test_a_picture_answer_carries_the_decision_of_the_text_read():
    lib = load_library()
    m = Matcher(lib)
    reply, match = picture.answer(SUSPECT_TEXT, [], lib, m)
    assert (reply.intent, reply.decision, reply.score) == ("lingdao", "suspect", round(match.score, 4))
    reply, _ = picture.answer("", [], lib, m)
    assert reply.decision == "unread"


# ---------------------------------------------------------------------------------- recent questions

def test_recent_questions_newest_first_masked_with_the_bots_verdict_and_no_staff(qa):
    svc = qa.service
    asked, _ = say(svc, "我叫王小明，电话13812345678，有人叫我在家做任务先垫付再返佣金")
    none, _ = say(svc, NONE_TEXT, sender="oFan", channel="mp")
    staff, _ = say(svc, ANSWER_TEXT, sender="police_duty")        # a police officer's own question
    command, _ = say(svc, "#帮助", sender="res_zhao")
    html = page(qa.as_("leader_zheng"), "/console/questions")
    assert rows_of(html) == [none.id, asked.id]
    assert "138****5678" in html and "13812345678" not in html
    assert "王某" in html and "王小明" not in html
    assert "刷单返利" in html and "作答" in html and "未识别（回帮助语）" in html and "一对一（微信）" in html
    assert "可以问我" in html                                     # the bot's answer to none: the help line
    assert f"{asked.score:.2f}" in html
    assert staff.id not in rows_of(html) and command.id not in rows_of(html)


def test_recent_questions_filter_by_decision_intent_and_day_and_page(qa):
    svc = qa.service
    a, _ = say(svc, ASK_TEXT)
    n, _ = say(svc, NONE_TEXT)
    s_, _ = say(svc, SUSPECT_TEXT)
    c = qa.as_("propaganda_yang")
    assert rows_of(page(c, "/console/questions?decision=none")) == [n.id]
    assert rows_of(page(c, "/console/questions?intent=lingdao")) == [s_.id]
    assert rows_of(page(c, "/console/questions?intent=clarify")) == [a.id]
    today = svc.clock().astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    assert rows_of(page(c, f"/console/questions?day={today}")) == [s_.id, n.id, a.id]
    assert rows_of(page(c, f"/console/questions?day={today - dt.timedelta(days=1)}")) == []
    for i in range(30):
        say(svc, f"{NONE_TEXT}{i}")
    first, second = page(c, "/console/questions"), page(c, "/console/questions?page=2")
    assert len(rows_of(first)) == 30 and rows_of(second) == [s_.id, n.id, a.id]
    assert "共 33 条" in first and 'id="next"' in first and 'id="prev"' in second


def test_masking_of_residents_text():
    names = ("刘大爷",)
    assert qa_review.mask_text("我叫王小明，电话138 1234 5678", names) == "我叫王某，电话138 **** 5678"
    assert qa_review.mask_text("张三说让我转账，卡号6222021234567890123", names) == "张某说让我转账，卡号6222****0123"
    assert qa_review.mask_text("刘大爷你好，方便", names) == "刘某你好，方便"
    assert qa_review.mask_text("客服说要先交钱", names) == "客服说要先交钱"
    assert qa_review.mask_text("有个叫林雨薇的让我加她", names) == "有个叫林某的让我加她"
    # words that start like a surname stay: a reviewer must still read what happened
    for text in ("钱没了 咋办", "“董事长”发消息让转账", "高价回收 马上办", "姓名身份证和银行卡都给了"):
        assert qa_review.mask_text(text, names) == text


# ---------------------------------------------------------------------------------- review queue

def test_the_queue_holds_none_asked_back_and_marked_wrong_until_labelled(qa):
    svc = qa.service
    n, _ = say(svc, NONE_TEXT)
    a, _ = say(svc, ASK_TEXT)
    ok, _ = say(svc, ANSWER_TEXT)
    sus, _ = say(svc, SUSPECT_TEXT)
    leader = qa.as_("leader_zheng")
    html = page(leader, "/console/questions/review")
    assert rows_of(html) == [a.id, n.id]
    assert 'name="label"' not in html and "标注需要" in html                 # the leader only reads
    # any staff member may say an answer was wrong (recorded); it joins the queue
    r = qa.post(leader, f"/console/questions/{ok.id}/wrong", {"next": "/console/questions"})
    assert r.status_code == 302 and "said=" in r.headers["Location"]
    assert rows_of(page(leader, "/console/questions/review")) == [ok.id, a.id, n.id]
    again = qa.post(leader, f"/console/questions/{ok.id}/wrong", {"next": "/console/questions"})
    assert "refused=" in again.headers["Location"]                           # once is enough, and said so
    with svc.sessions() as s:
        rv = s.scalar(select(QuestionReview).where(QuestionReview.message_id == ok.id))
        assert (rv.marked_wrong_by, rv.label) == ("leader_zheng", None)
        assert [(x.userid, x.action, x.target) for x in actions(s)] == [
            ("leader_zheng", "question.mark_wrong", f"inbound:{ok.id}")]
    # a labelled message leaves the queue; the suspected one was never in it
    reviewer = qa.as_("propaganda_yang")
    qa.post(reviewer, f"/console/questions/{n.id}/label", {"label": "none"})
    assert rows_of(page(reviewer, "/console/questions/review")) == [ok.id, a.id]
    assert sus.id not in rows_of(page(reviewer, "/console/questions/review"))


def test_labelling_writes_one_valid_masked_example_and_relabelling_does_not_duplicate(qa, small):
    ex, _ = small
    svc = qa.service
    m, _ = say(svc, "我叫王小明 13812345678 " + TAUGHT)
    c = qa.as_("propaganda_yang")
    r = qa.post(c, f"/console/questions/{m.id}/label", {"label": "youxi", "next": "/console/questions/review"})
    assert r.status_code == 302 and "said=" in r.headers["Location"]
    path = ex / qa_review.LABELS_FILE
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    doc = json.loads(lines[0])
    assert doc["intent"] == "youxi" and "138****5678" in doc["text"] and "王某" in doc["text"]
    assert "13812345678" not in lines[0] and "王小明" not in lines[0]
    # relabelled: the same line changes, no second one
    qa.post(c, f"/console/questions/{m.id}/label", {"label": "touzi"})
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["intent"] == "touzi"
    # the file reads like the other example files, and check-content accepts the folder
    examples = learned.load_examples(ex)
    assert [(e.intent, e.source) for e in examples if e.file == qa_review.LABELS_FILE] == [
        ("touzi", f"{qa_review.LABELS_FILE}:1")]
    assert cmd_check_content(["--examples", str(ex)]) == 0
    with svc.sessions() as s:
        rv = s.scalar(select(QuestionReview).where(QuestionReview.message_id == m.id))
        assert (rv.label, rv.labelled_by, rv.example_file) == ("touzi", "propaganda_yang", qa_review.LABELS_FILE)
        acts = [(x.action, x.detail) for x in actions(s)]
        assert acts == [("question.label", {"label": "youxi", "before": None}),
                        ("question.label", {"label": "touzi", "before": "youxi"})]
    # an unknown label is refused, and nothing changes
    bad = qa.post(c, f"/console/questions/{m.id}/label", {"label": "nonsense"})
    assert "refused=" in bad.headers["Location"]
    assert json.loads(path.read_text(encoding="utf-8"))["intent"] == "touzi"


def test_a_leader_can_neither_label_nor_retrain(qa, small):
    ex, _ = small
    m, _ = say(qa.service, NONE_TEXT)
    leader = qa.as_("leader_zheng")
    assert qa.post(leader, f"/console/questions/{m.id}/label", {"label": "none"}).status_code == 403
    assert qa.post(leader, "/console/questions/training/start").status_code == 403
    assert 'id="retrain"' not in page(leader, "/console/questions/training")
    assert not (ex / qa_review.LABELS_FILE).exists()
    with qa.service.sessions() as s:
        assert s.scalar(select(QuestionReview)) is None and s.scalar(select(TrainingRun)) is None


def test_a_staff_members_own_message_cannot_be_labelled(qa):
    m, _ = say(qa.service, ANSWER_TEXT, sender="police_duty")
    r = qa.post(qa.as_("propaganda_yang"), f"/console/questions/{m.id}/label", {"label": "shuadan"})
    assert "refused=" in r.headers["Location"]


# ---------------------------------------------------------------------------------- retraining

def test_a_run_in_progress_elsewhere_refuses_a_start_and_one_cut_off_long_ago_does_not(qa):
    svc = qa.service
    now = svc.clock()
    with session_scope(svc.sessions) as s:
        s.add(TrainingRun(started_by="admin_gao", started_at=now - dt.timedelta(minutes=2), state="running"))
    r = qa.post(qa.as_("propaganda_yang"), "/console/questions/training/start")
    assert "refused=" in r.headers["Location"]
    with session_scope(svc.sessions) as s:
        assert s.scalar(select(TrainingRun.id).where(TrainingRun.state == "running")) == 1
        s.get(TrainingRun, 1).started_at = now - training.STALE_AFTER - dt.timedelta(minutes=1)
    with session_scope(svc.sessions) as s:
        assert training.current(s, now) is None
    with svc.sessions() as s:
        run = s.get(TrainingRun, 1)
        assert run.state == "failed" and "没有结束" in run.error


def _wait(run_id):
    t = training.thread_of(run_id)
    if t is not None:
        t.join(120)
        assert not t.is_alive(), "training did not finish in 2 minutes"


def _train_in_use(small):
    """The weights in use: trained on the small examples, as `python -m bot train` would."""
    ex, w = small
    lib = load_library(with_weights=False)
    learned.save(learned.train(learned.load_examples(ex), Matcher(lib)), w)


@pytest.mark.slow
def test_retraining_shows_held_out_figures_before_apply_and_applying_swaps_the_weights(db_url, small):
    ex, w = small
    _train_in_use(small)
    qa = Console(qa_config(db_url, ex, w))
    other = Console(qa_config(db_url, ex, w))            # another process on the same files
    svc = qa.service
    assert svc.matcher.match(TAUGHT).intent == "youxi"
    m, _ = say(svc, TAUGHT)
    c = qa.as_("propaganda_yang")
    qa.post(c, f"/console/questions/{m.id}/label", {"label": "touzi"})
    before = sha(w)

    r = qa.post(c, "/console/questions/training/start")
    assert "said=" in r.headers["Location"]
    second = qa.post(qa.as_("admin_gao"), "/console/questions/training/start")
    assert "refused=" in second.headers["Location"]
    html = page(qa.as_("admin_gao"), second.headers["Location"])
    assert "第 1 轮训练正在进行" in html and 'data-live="/console/questions/training/live"' in html
    _wait(1)

    with svc.sessions() as s:
        run = s.get(TrainingRun, 1)
        assert run.state == "trained", run.error
        assert len(list(s.scalars(select(TrainingRun)))) == 1          # the refused start made no run
    fig = run.figures
    dev_n = fig["dev"]["n"]
    assert fig["examples"] == len(learned.load_examples(ex)) and fig["console_examples"] == 1
    assert fig["held_out_examples"] == fig["examples"] - dev_n            # the dev set left out of training
    assert fig["in_use"]["how"] == "held_out" and not training.bar_problems(fig["new"])
    # the figures are on the page before anything is used, and the weights in use are untouched
    live = page(c, "/console/questions/training/live")
    assert 'id="fig-new"' in live and 'id="fig-in-use"' in live and 'id="apply"' in live
    assert f"{fig['new']['accuracy']:.3f}" in live and f"{fig['in_use']['accuracy']:.3f}" in live
    assert "控制台标注的样本：<b id=\"console-examples\">1</b>" in live
    assert sha(w) == before and svc.matcher.match(TAUGHT).intent == "youxi"
    assert Path(run.weights_path) == w.parent / training.RUNS_DIR / "run-1.json"

    # a second run after it reuses the held-out figures of the same weights in use (no third training)
    qa.post(c, "/console/questions/training/start")
    _wait(2)
    with svc.sessions() as s:
        second = s.get(TrainingRun, 2)
    assert second.state == "trained" and second.figures["in_use"]["measured_by"] == 1
    assert {k: v for k, v in second.figures["in_use"].items() if k != "measured_by"} == fig["in_use"]
    assert second.figures["new"] == fig["new"]

    r = qa.post(c, "/console/questions/training/1/apply")
    assert "said=" in r.headers["Location"], r.headers["Location"]
    assert sha(w) != before and json.loads(w.read_text(encoding="utf-8"))["trained_on"] == fig["trained_on"]
    # this process answers with the new weights at once
    assert svc.library.weights.trained_on == fig["trained_on"]
    row, _ = say(svc, TAUGHT)
    assert (row.intent, row.decision) == ("touzi", "answer")
    # another process picks them up at its content check
    assert other.service.matcher.match(TAUGHT).intent == "youxi"
    assert other.service.reload_content() is True
    assert other.service.matcher.match(TAUGHT).intent == "touzi"
    with svc.sessions() as s:
        run = s.get(TrainingRun, 1)
        assert (run.state, run.decided_by) == ("applied", "propaganda_yang") and run.decided_at is not None
        acts = [(a.userid, a.action, a.target) for a in s.scalars(select(ConsoleAction).order_by(ConsoleAction.id))]
    assert ("propaganda_yang", "model.retrain", "training_run:1") in acts
    assert ("propaganda_yang", "model.apply", "training_run:1") in acts
    # decided once: applying or discarding again is refused; the other run can still be discarded
    assert "refused=" in qa.post(c, "/console/questions/training/1/discard").headers["Location"]
    assert "said=" in qa.post(c, "/console/questions/training/2/discard").headers["Location"]
    # the old weights are kept beside the runs
    assert list((w.parent / training.RUNS_DIR).glob("before-*.json"))


def _rotate_labels(ex):
    """A bad teacher: every example of the training files gets the next label (the dev set stays right)."""
    cat = load_library(with_weights=False).catalog.labels
    for name in ("blind_set_g.jsonl", "blind_set_k.jsonl"):
        p = ex / name
        out = []
        for line in p.read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            d["intent"] = cat[(cat.index(d["intent"]) + 1) % len(cat)]
            out.append(json.dumps(d, ensure_ascii=False))
        p.write_text("\n".join(out) + "\n", encoding="utf-8")


@pytest.mark.slow
def test_a_run_below_the_bar_cannot_be_applied_and_can_be_discarded(qa, small):
    ex, w = small
    _rotate_labels(ex)
    before = sha(w)
    c = qa.as_("admin_gao")
    qa.post(c, "/console/questions/training/start")
    _wait(1)
    with qa.service.sessions() as s:
        run = s.get(TrainingRun, 1)
    assert run.state == "trained", run.error
    problems = training.bar_problems(run.figures["new"])
    assert problems and run.figures["new"]["accuracy"] < training.BAR_ACCURACY
    live = page(c, "/console/questions/training/live")
    assert "未达标，不能使用" in live and 'id="apply"' not in live and 'id="discard"' in live
    r = qa.post(c, "/console/questions/training/1/apply")
    loc = r.headers["Location"]
    assert "refused=" in loc
    html = page(c, loc)
    assert "第 1 轮不能使用" in html and "准确率" in html and "达标线" in html
    assert sha(w) == before
    with qa.service.sessions() as s:
        assert s.get(TrainingRun, 1).state == "trained"
    # discarded: recorded, its file gone, the weights in use unchanged
    r = qa.post(c, "/console/questions/training/1/discard")
    assert "said=" in r.headers["Location"]
    with qa.service.sessions() as s:
        run = s.get(TrainingRun, 1)
        assert (run.state, run.decided_by) == ("discarded", "admin_gao")
        assert ("admin_gao", "model.discard") in [(a.userid, a.action) for a in s.scalars(select(ConsoleAction))]
    assert not Path(run.weights_path).exists() and sha(w) == before


@pytest.mark.slow
def test_a_run_without_a_dev_set_fails_and_says_why(qa, small):
    ex, _ = small
    (ex / training.DEV_FILE).unlink()
    c = qa.as_("admin_gao")
    qa.post(c, "/console/questions/training/start")
    _wait(1)
    with qa.service.sessions() as s:
        run = s.get(TrainingRun, 1)
    assert run.state == "failed" and "没有开发集" in run.error
    assert "训练失败：没有开发集" in page(c, "/console/questions/training/live")


def test_a_service_loads_changed_weights_and_keeps_its_own_when_the_file_is_broken(qa, small):
    _, w = small
    svc = qa.service
    assert svc.reload_content() is False                       # nothing changed
    good = w.read_bytes()
    w.write_text("{not json", encoding="utf-8")
    assert svc.reload_content() is False                       # broken: still answering with the old ones
    assert svc.matcher.match(ANSWER_TEXT).intent == "shuadan"
    doc = json.loads(good)
    doc["examples"] = 7                                        # the same weights, told apart by their count
    w.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    assert svc.reload_content() is True
    assert svc.library.weights.examples == 7 and svc.ctx.matcher is svc.matcher and svc.ctx.library is svc.library
