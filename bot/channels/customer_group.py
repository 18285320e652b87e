"""Customer groups (客户群) of WeChat residents: pushes only by mass-send tasks a member confirms.

No bot or robot can enter an external group. The adapter queues one mass-send task (企业群发) per
request, records it (mass_send_task, and a mass_send_group row per group), tells the owner in a
one-to-one app message what waits for them, and polls WeCom for what was really sent. Plain text
only (WeChat users see no markdown); images and links go as attachments.

What was confirmed from WeCom's documentation, and what not (searched 2026; corpora docs/issues/code):

Confirmed on WeCom's own pages (developer.work.weixin.qq.com/document/path/92135 创建企业群发,
97610 提醒成员群发, 96355 获取企业的全部群发记录):
- POST /cgi-bin/externalcontact/add_msg_template with chat_type "group", chat_id_list (at most 2000
  customer groups; with it the owner need not pick groups — WeCom client 4.1.10 or later), sender
  (the member; required for chat_type group), allow_select, text.content (≤ 4000 bytes), attachments
  (≤ 9: image/link/miniprogram/video/file).
- "调用该接口并不会直接发送消息给客户/客户群，需要成员确认后才会执行发送": nothing is sent until the
  member confirms. Each customer group receives at most as many mass messages a month as the month
  has days (the group may be set to one a day / seven a week).
- The app's secret must be configured under 客户联系 → 可调用应用 (a self-built app only sees members
  in its visible range). remind_groupmsg_send exists (at most 3 reminders per 24 h).
- get_groupmsg_task {msgid, limit, cursor} -> task_list [{userid, status, send_time}];
  get_groupmsg_send_result {msgid, userid, limit, cursor} -> send_list [{chat_id, userid, status,
  send_time}], and for customer-group tasks only the groups already sent are listed.

Confirmed only from third-party SDKs that copy the docs (WxJava, go-workwx, EasyWeChat, a PHP SDK,
a WeCom forum post showing {"errcode":40096,…,"fail_list":[]}), not from an official page read here:
- add_msg_template answers {errcode, errmsg, fail_list, msgid};
- task_list.status 0 未发送 / 1 已确认 / 2 已发送; send_list.status 0 未发送 / 1 已发送 /
  2 not a friend / 3 the customer already got another mass message;
- cancel_groupmsg_send {msgid} stops a task nobody sent yet.

Not confirmed: whether and when WeCom lets an unconfirmed task lapse on its own (we expire it after
mass_send.expire_hours and cancel it), the error code for an unknown msgid, and whether a member can
confirm a chat_id_list task partly (allow_select is false here; a group missing from send_list after
the member sent is recorded as not sent).
"""
from __future__ import annotations

import datetime as dt
import logging
from typing import Optional

from sqlalchemy import func, select, update

from apscheduler.triggers.interval import IntervalTrigger

from bot.channels.base import Adapter, Address, Unreachable, split_utf8
from bot.channels.wecom_api import ApiError, upload_image
from bot.core.scheduling import JobSpec, current_context
from bot.db import insert_unless_exists, session_scope, utcnow
from bot.wechat_models import MassSendGroup, MassSendTask
from content import markup

log = logging.getLogger(__name__)

TASK_SENT = 2          # get_groupmsg_task: 2 = 已发送


def _task_id(row) -> Optional[int]:
    src = row.source or ""
    return int(src.split(":", 1)[1]) if src.startswith("mass_send:") else None


def task_created(config, outbox, s, row, result: dict, now: dt.datetime) -> None:
    """add_msg_template succeeded: remember the msgid and tell the owner what waits for them.

    Runs in the sender's transaction that marks the outbox row sent, so a task WeCom created is
    never left unrecorded (never polled) by a crash in between.
    """
    task_id = _task_id(row)
    if task_id is None:
        return
    task = s.get(MassSendTask, task_id)
    if task is None or task.state != "queued":
        return
    task.state, task.msgid, task.task_created_at = "waiting", str(result["msgid"]), now
    names = [config.group(g.group_id).name if config.group(g.group_id) else g.group_id
             for g in s.scalars(select(MassSendGroup).where(MassSendGroup.task_id == task_id))]
    preview = task.text if len(task.text) <= 80 else task.text[:80] + "…"
    text = (f"【待确认的群发】有一条反诈宣传等您发到客户群：{'、'.join(names)}。\n"
            "请打开企业微信，在「群发助手」里确认发送。您确认后群里才能收到，没确认就不算发出。\n"
            f"内容：{preview}")
    outbox.to_members([task.owner], text, dedupe_key=f"mass_notice:{task_id}", source=f"mass_send:{task_id}",
                      session=s)


def task_failed(sessions, row, reason: str, now: dt.datetime) -> None:
    """WeCom refused the task for good: no group got anything."""
    task_id = _task_id(row)
    if task_id is None:
        return
    with session_scope(sessions) as s:
        s.execute(update(MassSendTask).where(MassSendTask.id == task_id, MassSendTask.state == "queued")
                  .values(state="failed", error=reason, finished_at=now))
        s.execute(update(MassSendGroup).where(MassSendGroup.task_id == task_id, MassSendGroup.status == "pending")
                  .values(status="failed", updated_at=now))


def _pages(api, path: str, body: dict, key: str) -> list:
    out, cursor = [], ""
    for _ in range(100):
        res = api.call(path, dict(body, limit=1000, cursor=cursor))
        out += res.get(key) or []
        cursor = res.get("next_cursor") or ""
        if not cursor:
            break
    return out


def poll(config, sessions, api, now: Optional[dt.datetime] = None, limit: int = 200) -> dict:
    """Ask WeCom what became of every waiting task and record it per group; idempotent.

    Returns counts {"polled", "done", "expired", "errors"}.
    """
    now = now or utcnow()
    expire = dt.timedelta(hours=config.mass_send.expire_hours)
    counts = {"polled": 0, "done": 0, "expired": 0, "errors": 0}
    with sessions() as s:
        tasks = list(s.scalars(select(MassSendTask).where(MassSendTask.state == "waiting")
                               .order_by(MassSendTask.polled_at.is_not(None), MassSendTask.polled_at,
                                         MassSendTask.id).limit(limit)))
    for task in tasks:
        counts["polled"] += 1
        try:
            outcome = _poll_one(config, sessions, api, task, now, expire)
        except ApiError as e:
            counts["errors"] += 1
            log.warning("mass-send task %s (%s): poll failed: %s", task.id, task.msgid, e)
            with session_scope(sessions) as s:
                s.execute(update(MassSendTask).where(MassSendTask.id == task.id)
                          .values(polled_at=now, polls=MassSendTask.polls + 1, error=str(e)[:500]))
            continue
        if outcome:
            counts[outcome] += 1
    return counts


def _poll_one(config, sessions, api, task: MassSendTask, now, expire) -> Optional[str]:
    members = _pages(api, "externalcontact/get_groupmsg_task", {"msgid": task.msgid}, "task_list")
    mine = next((m for m in members if m.get("userid") == task.owner), None)
    status = int(mine.get("status", 0)) if mine else 0
    sent: dict[str, Optional[int]] = {}
    if status in (1, TASK_SENT):
        for r in _pages(api, "externalcontact/get_groupmsg_send_result",
                        {"msgid": task.msgid, "userid": task.owner}, "send_list"):
            if r.get("chat_id") and int(r.get("status", 0)) == 1:
                sent[str(r["chat_id"])] = r.get("send_time")
    outcome = None
    with session_scope(sessions) as s:
        groups = list(s.scalars(select(MassSendGroup).where(MassSendGroup.task_id == task.id)))
        for g in groups:
            if g.chat_id in sent and g.status != "sent":
                t = sent[g.chat_id]
                g.status, g.updated_at = "sent", now
                g.sent_at = dt.datetime.fromtimestamp(int(t), dt.timezone.utc) if t else now
        t = s.get(MassSendTask, task.id)
        t.polled_at, t.polls, t.error = now, (t.polls or 0) + 1, None
        if status == TASK_SENT:
            for g in groups:
                if g.status == "pending":
                    g.status, g.updated_at = "not_sent", now
            t.state, t.finished_at = "done", now
            outcome = "done"
        elif task.task_created_at and now - task.task_created_at > expire:
            for g in groups:
                if g.status == "pending":
                    g.status, g.updated_at = "not_sent", now
            t.state, t.finished_at = "expired", now
            outcome = "expired"
    if outcome == "expired":
        log.warning("mass-send task %s was not confirmed by %s in time: recorded as not sent", task.id, task.owner)
        try:   # best effort: the member should not send an outdated message later
            api.call("externalcontact/cancel_groupmsg_send", {"msgid": task.msgid})
        except ApiError as e:
            log.warning("could not cancel mass-send task %s: %s", task.msgid, e)
    return outcome


def reach(sessions, since: dt.datetime, until: Optional[dt.datetime] = None) -> dict[str, int]:
    """Messages that really reached each customer group in [since, until): for coverage/assessment."""
    q = (select(MassSendGroup.group_id, func.count()).where(MassSendGroup.status == "sent",
                                                            MassSendGroup.sent_at >= since)
         .group_by(MassSendGroup.group_id))
    if until is not None:
        q = q.where(MassSendGroup.sent_at < until)
    with sessions() as s:
        return {g: n for g, n in s.execute(q)}


def delivery(sessions, dedupe_key: str) -> dict[str, str]:
    """{group_id: status} of the task queued under an outbox dedupe key ({} if there is none)."""
    with sessions() as s:
        rows = s.execute(select(MassSendGroup.group_id, MassSendGroup.status)
                         .join(MassSendTask, MassSendTask.id == MassSendGroup.task_id)
                         .where(MassSendTask.dedupe_key == dedupe_key))
        return {g: st for g, st in rows}


class CustomerGroupAdapter(Adapter):
    name = "customer_group"
    markup = False
    text_limit = 4000       # add_msg_template text.content
    kinds = ("text", "image", "news")

    def group_target(self, group) -> Optional[str]:
        return group.send.owner if group.send.via == "customer_group" else None

    def reach(self, group) -> Optional[tuple[str, str]]:
        if self.group_target(group) is None:
            return None
        owner = self.config.person(group.send.owner)
        name = owner.name if owner else group.send.owner
        return (f"客户群群发（需{name}确认）",
                f"企业微信只允许群发：每次推送先发给群主{name}，在手机上确认后才发到群里；只发纯文本和附件，"
                "每个客户群每月最多收到当月天数那么多条群发")

    def delivered(self, session, group_ids: list[str]) -> dict[str, dict]:
        """The last task each group's owner really sent to it (mass_send_group), and how many wait for
        the owner: the outbox row of a task is sent as soon as WeCom created the task."""
        out: dict[str, dict] = {}
        last = (select(MassSendGroup.group_id, func.max(MassSendGroup.sent_at).label("at"))
                .where(MassSendGroup.status == "sent", MassSendGroup.group_id.in_(group_ids))
                .group_by(MassSendGroup.group_id).subquery())
        rows = session.execute(
            select(MassSendGroup.group_id, MassSendGroup.sent_at, MassSendTask.source, MassSendTask.text)
            .join(MassSendTask, MassSendTask.id == MassSendGroup.task_id)
            .join(last, (MassSendGroup.group_id == last.c.group_id) & (MassSendGroup.sent_at == last.c.at))
            .where(MassSendGroup.status == "sent").order_by(MassSendGroup.id))
        for gid, at, source, text in rows:
            out[gid] = {"at": at, "source": source, "text": text}
        pending = session.execute(select(MassSendGroup.group_id, func.count())
                                  .where(MassSendGroup.status == "pending", MassSendGroup.group_id.in_(group_ids))
                                  .group_by(MassSendGroup.group_id))
        for gid, n in pending:
            out.setdefault(gid, {})["pending"] = n
        return out

    def queue(self, outbox, address: Address, kind: str, payload: dict, *, dedupe_key: str,
              source: Optional[str], session, not_before=None) -> int:
        """One mass-send task for the group: text, an image with its caption, or news as link
        attachments with their text (plain text: WeChat users see no markdown)."""
        group = self.config.group(address.group_id)
        text = payload.get("text", "")
        attachments: list = []
        if kind == "image":
            text = payload.get("caption", "")
            attachments = [{"kind": "image", "base64": payload["base64"], "md5": payload["md5"]}]
        elif kind == "news":
            attachments = [{"kind": "link", **{k: a[k] for k in ("title", "url") if a.get(k)},
                            **({"desc": a["description"]} if a.get("description") else {}),
                            **({"picurl": a["picurl"]} if a.get("picurl") else {})} for a in payload["articles"]]
        elif payload.get("rich"):
            text = markup.plain(text)
        return self.queue_task(outbox, [group], text, attachments, dedupe_key=dedupe_key, source=source,
                               session=session, not_before=not_before)

    def queue_task(self, outbox, groups: list, text: str, attachments: list, *, dedupe_key: str,
                   source: Optional[str], session, not_before=None) -> int:
        """Queue one mass-send task (企业群发 to customer groups) for the groups' common owner.

        Nothing reaches a group until the owner confirms the task on the phone; the task and a row
        per group (mass_send_task, mass_send_group) record what really happened. Returns 1 when
        the task was added, 0 when `dedupe_key` was seen before.
        """
        if not groups or any(g.send.via != "customer_group" for g in groups):
            raise Unreachable("mass sending is only for customer groups (send.via customer_group)")
        owners = {g.send.owner for g in groups}
        if len(owners) != 1:
            raise ValueError("one mass-send task has one owner: queue a task per owner")
        owner = owners.pop()
        text = split_utf8(markup.plain(text), self.text_limit)[0] if text else ""
        if not text and not attachments:
            raise ValueError("a mass-send task needs text or attachments")
        payload = {"chat_ids": [g.send.chatid for g in groups], "text": text, "attachments": list(attachments)[:9]}

        def write(s) -> int:
            now = utcnow()
            task_id = insert_unless_exists(s, MassSendTask, dict(
                dedupe_key=dedupe_key, owner=owner, text=text or "[附件]", state="queued", source=source,
                created_at=now, polls=0), ["dedupe_key"])
            if task_id is None:
                return 0
            for g in groups:
                s.add(MassSendGroup(task_id=task_id, group_id=g.id, chat_id=g.send.chatid, status="pending",
                                    updated_at=now))
            s.flush()
            outbox.enqueue(channel=self.name, target=owner, msgtype="mass", payload=payload, dedupe_key=dedupe_key,
                           group_id=groups[0].id if len(groups) == 1 else None, source=f"mass_send:{task_id}",
                           session=s, not_before=not_before)
            return 1
        return outbox._write(write, session)

    def render(self, row) -> dict:
        """externalcontact/add_msg_template: a task the owner confirms on the phone."""
        p = row.payload
        body: dict = {"chat_type": "group", "chat_id_list": list(p["chat_ids"]), "sender": row.target,
                      "allow_select": False}
        if p.get("text"):
            body["text"] = {"content": p["text"]}
        atts = []
        for a in p.get("attachments") or []:
            if a.get("kind") == "image":
                atts.append({"msgtype": "image", "image": {"media_id": upload_image(self.runtime.api, a)}})
            elif a.get("kind") == "link":
                atts.append({"msgtype": "link", "link": {k: v for k, v in a.items() if k != "kind"}})
        if atts:
            body["attachments"] = atts
        return body

    def deliver(self, row) -> dict:
        res = self.runtime.api.call("externalcontact/add_msg_template", self.render(row))
        if not res.get("msgid"):
            raise ApiError(-11, "add_msg_template answered without msgid", retriable=False)
        return res

    def on_sent(self, session, row, result: dict) -> None:
        # "sent" here means WeCom created the task; whether a group got it is in mass_send_group.
        # A bug recording it must not unmark the send (that would create a second task).
        try:
            with session.begin_nested():
                task_created(self.config, self.runtime.outbox, session, row, result, self.runtime.clock())
        except Exception:
            log.exception("outbox %s: could not record the mass-send task %s", row.id, result.get("msgid"))

    def on_dead(self, row, reason: str) -> None:
        task_failed(self.runtime.sessions, row, reason, self.runtime.clock())

    def poll(self) -> dict:
        return poll(self.config, self.runtime.sessions, self.runtime.api, self.runtime.clock())

    def jobs(self) -> list:
        if not any(g.send.via == "customer_group" for g in self.config.groups):
            return []
        return [JobSpec(id="mass_send_poll", func="bot.channels.customer_group:poll_job",
                        trigger=IntervalTrigger(seconds=int(self.config.mass_send.poll_minutes * 60)))]


def poll_job() -> None:
    """Scheduled: record which customer groups really got a confirmed mass-send message."""
    counts = current_context().channels[CustomerGroupAdapter.name].poll()
    if counts["polled"]:
        log.info("mass-send poll: %s", counts)


ADAPTER = CustomerGroupAdapter
