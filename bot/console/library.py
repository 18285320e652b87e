"""宣传内容: the Q&A scenarios and the venue (八进) texts as residents see them, read-only.

The propaganda officer edits the YAML files (content/scenarios/, content/venues/) and checks them with
`python -m bot check-content`; the index shows the same check, run on the files as they are on disk now.
A scenario's page shows the replies built by the Q&A's own code (content.answers) in the plain text a
WeChat resident gets; a venue's page shows what the campaigns push to that venue's groups
(bot.campaigns.venue_items). What residents get is what the service loaded at start: an edited file
takes effect on restart, and the index says when the files on disk differ from what is running.
"""
from __future__ import annotations

from collections import Counter

from flask import Response, abort, render_template

from bot.campaigns import scenario_items, venue_items
from bot.console import access
from content import answers, learned, markup
from content.cli import check_content
from content.files import ContentError
from content.library import NONE
from content.matcher import Match
from content.venues import GENERAL, VENUES, load_venues

NAV = [("console.library", "宣传内容", "view")]

KIND_NAMES = {"fraud": "诈骗类型", "service": "服务"}
EXAMPLES_SHOWN = 6


def resident_replies(lib, intent: str) -> dict[str, str]:
    """What a resident on WeChat reads when the Q&A names this intent: the answer, then the follow-ups
    案例 and 怎么办, built by content.answers as the Q&A builds them, as plain text (no markdown)."""
    match = Match(intent=intent, score=1.0, candidates=[(intent, 1.0)])
    return {"answer": markup.plain(answers.answer_for(match, lib)),
            "case": markup.plain(answers.case_for(intent, lib)),
            "advice": markup.plain(answers.advice_for(intent, lib))}


def example_counts(examples) -> Counter:
    return Counter(e.intent for e in examples)


def venue_check() -> list[str]:
    """The venue files as they are on disk now: [] or `file: field: reason` lines."""
    try:
        load_venues()
    except ContentError as e:
        return list(e.errors)
    return []


def venue_texts(svc, venue: str) -> list[dict]:
    """Each item a group of this venue may get, with the text its residents read (the network venue's
    reminder SMS signed with the bureau's signature, as the campaigns send it)."""
    items = svc.venues.items_for(venue)
    if venue == GENERAL:
        texts = [it.text.strip() for it in items]
    else:
        texts = [p.text for p in venue_items(svc.venues, venue, svc.config.signature)]
    return [{"item": it, "text": text, "general": it.venue == GENERAL and venue != GENERAL,
             "sms": venue == "network" and bool(it.sms)} for it, text in zip(items, texts)]


def register(bp) -> None:
    @bp.get("/library")
    @access.require("view")
    def library():
        svc = access.service()
        lib = svc.library
        check = check_content(lib.path)
        counts = example_counts(check.examples)
        changed = check.library is not None and check.library.scenarios != lib.scenarios
        groups = Counter(g.kind for g in svc.config.groups)
        venues = [(key, svc.venues.venues[key], len(svc.venues.items_for(key)), groups.get(key, 0))
                  for key in VENUES + (GENERAL,)]
        return render_template(
            "console/library.html", check=check, changed=changed, lib=lib, kind_names=KIND_NAMES,
            scenarios=[lib.scenarios[i] for i in lib.intents if i in lib.scenarios], counts=counts,
            none_examples=counts.get(NONE, 0), venues=venues, venue_errors=venue_check(),
            folder=lib.path)

    @bp.get("/library/scenarios/<intent>")
    @access.require("view")
    def library_scenario(intent: str):
        svc = access.service()
        lib = svc.library
        sc = lib.scenarios.get(intent)
        if sc is None:
            return render_template("console/error.html", message=f"问答内容里没有“{intent}”这一项。"), 404
        errors: list[str] = []
        examples = [e for e in learned.load_examples(None, errors, labels=lib.catalog.labels) if e.intent == intent]
        push = next((p.text for p in scenario_items(lib) if p.intent == intent), None)
        return render_template(
            "console/library_scenario.html", sc=sc, kind_names=KIND_NAMES, replies=resident_replies(lib, intent),
            push=push, examples=examples[:EXAMPLES_SHOWN], n_examples=len(examples),
            keywords=sorted(sc.keywords.items(), key=lambda kv: (-kv[1], kv[0])),
            words=sorted(sc.words.items(), key=lambda kv: (-kv[1], kv[0])),
            full=access.current_user().can("warning.full"), case_name=lib.catalog.case_name(intent) if sc.kind == "fraud" else "")

    @bp.get("/library/venues/<venue>")
    @access.require("view")
    def library_venue(venue: str):
        svc = access.service()
        if venue not in svc.venues.venues:
            return render_template("console/error.html", message=f"八进宣传内容里没有“{venue}”这个场所。"), 404
        groups = [g for g in svc.config.groups if g.kind == venue] if venue != GENERAL else []
        names = {key: v.name for key, v in svc.venues.venues.items()}
        return render_template(
            "console/library_venue.html", key=venue, venue=svc.venues.venues[venue], rows=venue_texts(svc, venue),
            groups=groups, names=names, intent_name=lambda i: _intent_name(svc.library, i),
            signature=svc.config.signature)

    @bp.get("/library/posters/<item_id>.png")
    @access.require("view")
    def library_poster(item_id: str):
        item = access.service().venues.items.get(item_id)
        if item is None or item.image is None:
            abort(404)
        return Response(item.png_bytes(), mimetype="image/png", headers={"Cache-Control": "private, max-age=300"})


def _intent_name(lib, intent: str) -> str:
    if intent == GENERAL:
        return "通用"
    sc = lib.scenarios.get(intent)
    return sc.short if sc else intent
