"""In a real browser: a resident asks something the bot does not recognise; the reviewer finds it in the
queue, labels it, retrains (on a small copy of the examples), sees the held-out figures, applies the new
weights, and the bot answers the same question with the type it was taught."""
from __future__ import annotations

import hashlib
import shutil

import pytest
from sqlalchemy import select

from bot.console_models import QuestionReview, TrainingRun
from bot.models import InboundMessage
from content import learned
from tests.conftest import wait_for
from tests.console.browser import chromium, desk  # noqa: F401 (fixtures)
from tests.console.conftest import SECRET
from tests.console.test_questions import SMALL, TAUGHT

pytestmark = pytest.mark.slow


@pytest.fixture
def console_stack(stack_factory, tmp_path):
    """The bot and the simulator, the Q&A reading a small copy of the examples and a copy of the weights."""
    ex = tmp_path / "examples"
    ex.mkdir()
    for name in SMALL:
        shutil.copy(learned.EXAMPLES_DIR / name, ex / name)
    w = tmp_path / "model" / "weights.json"
    w.parent.mkdir()
    shutil.copy(learned.WEIGHTS_PATH, w)
    stack = stack_factory(env={"CONSOLE_LOGIN": "local", "FANZHA_CONSOLE_SECRET": SECRET},
                          qa={"examples_dir": str(ex), "weights_file": str(w)})
    stack.examples, stack.weights = ex, w
    return stack


def test_reviewer_labels_an_unrecognised_question_retrains_and_applies(console_stack, desk):
    stack = console_stack
    shipped = hashlib.sha256(stack.weights.read_bytes()).hexdigest()
    stack.say("dongguan_grid", "res_liu", TAUGHT)
    first = wait_for(lambda: stack.bot_messages("dongguan_grid"), timeout=10)
    assert first and "可以问我" in first[-1]["text"]                   # answered none: the help line

    yang = desk("propaganda_yang")
    page = yang.go("/console/questions/review")
    row = page.locator("#questions tbody tr[data-id]").first
    assert TAUGHT in row.inner_text() and "未识别" in row.inner_text()
    row.locator("select[name=label]").select_option("touzi")
    row.locator(".label-form button").click()
    page.wait_for_selector("#said")
    assert "已标为「" in page.locator("#said").inner_text()
    assert page.locator("#queued").inner_text() == "0"
    assert (stack.examples / "console_labels.jsonl").read_text(encoding="utf-8").count("\n") == 1

    page.click("text=重新训练")
    page.wait_for_url("**/console/questions/training")
    page.click("#retrain")
    page.wait_for_selector("#said")
    assert "本页会自动刷新" in page.locator("#said").inner_text()
    # the live part shows the figures when the run is done: held out, next to the weights in use
    page.wait_for_selector("#fig-new", timeout=90_000)
    assert "新模型达标" in page.locator("#bar").inner_text()
    assert page.locator("#console-examples").inner_text() == "1"
    assert "在用模型" in page.locator("#fig-in-use").inner_text()
    assert hashlib.sha256(stack.weights.read_bytes()).hexdigest() == shipped     # nothing used yet
    yang.shot("questions")

    page.on("dialog", lambda d: d.accept())
    page.click("#apply")
    page.wait_for_selector("#said")
    assert "已使用第 1 轮的新模型" in page.locator("#said").inner_text()
    assert page.locator("#run-state").inner_text() == "已使用"
    assert hashlib.sha256(stack.weights.read_bytes()).hexdigest() != shipped

    # the bot answers the same question with what it was taught
    stack.say("dongguan_grid", "res_zhao", TAUGHT)
    answers = wait_for(lambda: (lambda b: b if len(b) >= 2 else None)(stack.bot_messages("dongguan_grid")), timeout=10)
    assert answers and "投资" in answers[-1]["text"], answers
    with stack.service.sessions() as s:
        assert s.scalar(select(TrainingRun.state)) == "applied"
        assert s.scalar(select(QuestionReview.label)) == "touzi"
        last = s.scalar(select(InboundMessage).order_by(InboundMessage.id.desc()).limit(1))
        assert (last.intent, last.decision) == ("touzi", "answer")
