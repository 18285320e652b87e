"""Service configuration: one YAML file, `${ENV}` substitution, validated with pydantic.

`load_config(path)` returns a `Config` or raises `ConfigError` whose `errors` are lines of
the form `path.to.key: reason`, so a bad file stops start-up with a readable message.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
from typing import Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.cron import cron_trigger
from content.intents import catalog
from content.files import DEFAULT_DIR
from content.learned import EXAMPLES_DIR, WEIGHTS_PATH
from content.venues import signature_problem

GROUP_KINDS = ("community", "bank", "school", "square", "network", "station", "unit",
               "enterprise", "linkage", "leadership")
# leader: the bureau's leadership (reads everything in the console, changes nothing unless also admin);
# reviewer: labels residents' questions and retrains the Q&A in the console
ROLES = ("resident", "police", "liaison", "admin", "propaganda", "leader", "reviewer")
GroupKind = Literal["community", "bank", "school", "square", "network", "station", "unit",
                    "enterprise", "linkage", "leadership"]
Role = Literal["resident", "police", "liaison", "admin", "propaganda", "leader", "reviewer"]

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(Exception):
    """A config that cannot be used; `errors` holds one `key.path: reason` line each."""

    def __init__(self, path: str, errors: list[str]):
        self.path = path
        self.errors = errors
        super().__init__(f"{path}: " + "; ".join(errors))

    def render(self) -> str:
        return "\n".join(f"{self.path}: {e}" for e in self.errors)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(_Model):
    url: str = "sqlite:///data/fanzha.db"

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError
        try:
            u = make_url(v)
            u.get_dialect()
        except (ArgumentError, NoSuchModuleError, ValueError) as e:
            raise ValueError(f"not a database URL this service can use ({type(e).__name__}: {e}); e.g. "
                             "sqlite:///data/fanzha.db or postgresql+psycopg://user:pass@host/db")
        except ImportError as e:
            raise ValueError(f"the database driver is not installed: {e}")
        if u.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(f"{u.get_backend_name()} is not supported: use sqlite or postgresql")
        return v


class AibotConfig(_Model):
    """智能机器人 (API mode) callback settings; its crypto uses an empty receiveid."""
    name: str = "反诈哨兵"
    token: str
    encoding_aes_key: str

    @field_validator("encoding_aes_key")
    @classmethod
    def _aes_key(cls, v: str) -> str:
        return _check_aes_key(v)


def _check_base_url(v: str) -> str:
    if not re.match(r"https?://", v):
        raise ValueError("must start with http:// or https://")
    return v.rstrip("/")


def _check_aes_key(v: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9]{43}", v or ""):
        raise ValueError("must be exactly 43 letters or digits (WeCom EncodingAESKey)")
    return v


class WecomConfig(_Model):
    api_base: str = "https://qyapi.weixin.qq.com"
    corp_id: str
    agent_id: int
    secret: str
    token: str
    encoding_aes_key: str
    aibot: AibotConfig
    # WeCom drops a callback answered after 5 s and retries it; answer passively only
    # while well inside that, otherwise send the reply actively.
    reply_deadline_seconds: float = Field(3.0, gt=0, le=4.5)
    # a message is handled under a lease that its process renews; if the process dies, the message is
    # taken up again after this (by WeCom's next retry, or by the recovery job)
    handling_lease_seconds: float = Field(30.0, ge=3)
    replay_window_seconds: int = Field(300, ge=10)
    max_body_bytes: int = Field(64 * 1024, ge=1024)

    @field_validator("encoding_aes_key")
    @classmethod
    def _aes_key(cls, v: str) -> str:
        return _check_aes_key(v)

    @field_validator("api_base")
    @classmethod
    def _base(cls, v: str) -> str:
        return _check_base_url(v)


class RobotConfig(_Model):
    """A group robot (群机器人/消息推送); the webhook key is its only credential."""
    key: str = Field(min_length=1)


class SendConfig(_Model):
    """How the bot reaches a group.

    webhook: a group robot added to an internal group; appchat: an app-created internal
    group; aibot: only answers @-mentions (no pushes); customer_group: an external group of
    WeChat users, reachable only by a mass-send task that `owner` confirms; none: not reachable.
    """
    via: Literal["webhook", "appchat", "aibot", "customer_group", "none"]
    robot: Optional[str] = None
    # appchat: the app group's chatid; customer_group: WeCom's external group id (wr…), so the
    # mass-send task names the group and its send result can be matched back to it
    chatid: Optional[str] = None
    owner: Optional[str] = None

    @model_validator(mode="after")
    def _needs(self):
        if self.via == "webhook" and not self.robot:
            raise ValueError("via webhook needs robot")
        if self.via == "appchat" and not self.chatid:
            raise ValueError("via appchat needs chatid")
        if self.via == "customer_group" and not (self.owner and self.chatid):
            raise ValueError("via customer_group needs owner and chatid (the external group id, wr…)")
        return self


class UnitConfig(_Model):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str


class GroupConfig(_Model):
    id: str = Field(pattern=r"^[A-Za-z0-9_\-]{1,64}$")
    name: str
    kind: GroupKind
    unit: Optional[str] = None
    external: bool = False
    aibot_chatid: Optional[str] = None
    send: SendConfig
    members: list[str] = []

    @model_validator(mode="after")
    def _reach(self):
        if self.external and self.send.via in ("webhook", "aibot", "appchat"):
            raise ValueError(f"an external group (WeChat users) cannot be reached via {self.send.via}; "
                             "use customer_group")
        if not self.external and self.send.via == "customer_group":
            raise ValueError("customer_group is only for external groups")
        return self


class StationConfig(_Model):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    keywords: list[str] = Field(min_length=1)
    liaisons: list[str] = Field(min_length=1)
    chief: str
    # the responsible unit its overdue warnings count against in the assessment (issue 7)
    unit: Optional[str] = None


class PersonConfig(_Model):
    userid: str = Field(pattern=r"^[A-Za-z0-9_.@\-]{1,64}$")
    name: str
    roles: list[Role] = Field(min_length=1)
    mobile: Optional[str] = None
    station: Optional[str] = None

    @field_validator("mobile")
    @classmethod
    def _mobile(cls, v):
        if v is not None and not re.fullmatch(r"1[3-9]\d{9}", v):
            raise ValueError("must be an 11-digit mainland mobile number")
        return v


class SenderConfig(_Model):
    robot_per_minute: int = Field(20, ge=1)
    # app messages to one member beyond this in a minute are dropped by WeCom without an error
    member_per_minute: int = Field(30, ge=1)
    # addressees sent to at the same time (one addressee's messages always go in order)
    concurrency: int = Field(4, ge=1, le=32)
    max_attempts: int = Field(8, ge=1)
    backoff_base_seconds: float = Field(1.0, gt=0)
    backoff_max_seconds: float = Field(300.0, gt=0)
    # how long to wait for WeCom's answer once the request is sent; past it the outcome is unknown
    # (WeCom may have taken the message), so waiting longer is better than guessing
    http_timeout_seconds: float = Field(15.0, gt=0)
    poll_seconds: float = Field(1.0, gt=0)
    # a claim holds its rows this long before their attempts start; a sender that dies leaves them to
    # another sender after this (an attempt under way holds its row for the request's time + half this)
    claim_seconds: float = Field(30.0, ge=1)
    token_refresh_margin_seconds: int = Field(300, ge=0)


class QaConfig(_Model):
    """Resident Q&A: follow-ups and flood control in groups."""
    follow_up_minutes: float = Field(5, gt=0)
    # answers per member per minute in a group chat; one-to-one chats are not limited
    group_answers_per_minute: int = Field(3, ge=1)
    content_dir: Optional[str] = None
    # the labelled examples the console adds to and retrains from (default content/examples/), and the
    # learned weights the service answers with (default content/weights.json); empty = the default
    examples_dir: Optional[str] = None
    weights_file: Optional[str] = None

    @field_validator("content_dir", "examples_dir", "weights_file")
    @classmethod
    def _empty_is_default(cls, v: Optional[str]) -> Optional[str]:
        return v or None


class PicturesConfig(_Model):
    """Pictures residents send (screenshots of an SMS or a chat, QR codes): read offline, then forgotten."""
    # a picture bigger than this is refused before it is read (the download stops there)
    max_bytes: int = Field(10 * 1024 * 1024, ge=64 * 1024, le=50 * 1024 * 1024)
    # width × height from the picture's header, checked before anything decodes it
    max_pixels: int = Field(40_000_000, ge=100_000, le=200_000_000)
    # reading stops after this and answers from what it read so far (the top of the picture)
    seconds: float = Field(10.0, gt=0, le=60)
    # pictures read at once (each with `threads` threads); more wait in line, up to `queue`
    workers: int = Field(1, ge=1, le=8)
    threads: int = Field(2, ge=1, le=16)
    queue: int = Field(30, ge=1, le=1000)
    # pictures one resident may send a minute; past it the bot says so and reads none
    per_minute: int = Field(4, ge=1)
    # keep every picture here after reading (for an officer's review); unset: pictures are not kept
    keep_dir: Optional[str] = None


class ConsoleConfig(_Model):
    """The web console under /console/ (issue 13)."""
    # wecom: staff log in through WeCom (网页授权 inside the WeCom client, 扫码登录 on a PC); the userid
    # decides the roles from `people`. local: pick any configured person, no password: the demo only.
    login: Literal["wecom", "local"] = "wecom"
    # signs the session cookies; from the environment, at least 32 characters. Empty: the console
    # refuses every page and says why (the rest of the service runs)
    secret: str = ""
    # where WeCom's log-in pages are (the simulator's address in the demo)
    oauth_base: str = "https://open.weixin.qq.com"
    sso_base: str = "https://login.work.weixin.qq.com"
    session_hours: float = Field(12, gt=0, le=168)
    # the warnings board refreshes itself this often
    live_seconds: int = Field(5, ge=1, le=300)

    @field_validator("secret")
    @classmethod
    def _secret(cls, v: str) -> str:
        if v and len(v) < 32:
            raise ValueError("at least 32 characters (set FANZHA_CONSOLE_SECRET to a long random string)")
        return v

    @field_validator("oauth_base", "sso_base")
    @classmethod
    def _base(cls, v: str) -> str:
        if not re.fullmatch(r"https?://[^\s/]+(/[^\s]*)?", v):
            raise ValueError(f"{v!r} is not an http(s) address")
        return v.rstrip("/")


def _parse_hhmm(v: str) -> tuple[int, int]:
    m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", v.strip())
    if not m:
        raise ValueError(f"{v!r} is not a time HH:MM")
    return int(m.group(1)), int(m.group(2))


class CampaignTargets(_Model):
    kinds: list[Literal["community", "bank", "school", "square", "network", "station", "unit", "enterprise"]] = []
    groups: list[str] = []

    @model_validator(mode="after")
    def _some(self):
        if not self.kinds and not self.groups:
            raise ValueError("name venue kinds and/or groups")
        return self


class CampaignConfig(_Model):
    """A scheduled rebroadcast: who, when (cron, in the service's timezone), from what, how."""
    name: str = Field(min_length=1, max_length=40)
    targets: CampaignTargets
    cron: str
    draw_from: list[Literal["venue", "scenario"]] = ["venue", "scenario"]
    msgtype: Literal["text", "markdown", "image", "news"] = "text"
    news_url: Optional[str] = None
    quiet_hours: Optional[str] = "22:00-07:00"
    rotation_days: int = Field(14, ge=0)
    # a slot missed while the service was down: sent once on start within the grace, else recorded as skipped
    grace_minutes: int = Field(60, ge=0)
    on_missed: Literal["send", "skip"] = "send"
    enabled: bool = True

    @field_validator("cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        try:
            cron_trigger(v, "UTC")
        except ValueError as e:
            raise ValueError(f"not a cron expression as this service reads it (minute hour day month weekday, "
                             f"0 and 7 = Sunday): {e}")
        return v

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, v):
        if v in (None, ""):
            return None
        parts = v.split("-")
        if len(parts) != 2:
            raise ValueError("write quiet hours as HH:MM-HH:MM")
        _parse_hhmm(parts[0]), _parse_hhmm(parts[1])
        return v

    @model_validator(mode="after")
    def _news(self):
        if self.msgtype == "news" and not self.news_url:
            raise ValueError("msgtype news needs news_url (where the article opens)")
        return self

    def quiet_window(self):
        """((h, m), (h, m)) or None."""
        if not self.quiet_hours:
            return None
        a, b = self.quiet_hours.split("-")
        return _parse_hhmm(a), _parse_hhmm(b)


class PrioritiesConfig(_Model):
    """Shares of campaign slots per fraud type, until case statistics replace them."""
    weights: dict[str, float] = {}
    general_weight: float = Field(1.0, ge=0)
    # every type reaches every group at least once in this many days
    floor_days: int = Field(30, ge=1)
    # issue 7: when the case data of the last case_window_days hold at least min_cases cases,
    # each fraud type's share of them replaces `weights` (types without cases weigh min_case_weight)
    from_cases: bool = True
    case_window_days: int = Field(90, ge=7)
    min_cases: int = Field(30, ge=1)
    min_case_weight: float = Field(0.5, ge=0)

    @field_validator("weights")
    @classmethod
    def _known(cls, v: dict) -> dict:
        # the names are checked against the scenario files by Config.content_errors()
        if any(w < 0 for w in v.values()):
            raise ValueError("weights must not be negative")
        return v


CASE_FIELDS = ("case_no", "occurred_at", "township", "fraud_type", "method", "age", "occupation", "gender",
               "loss", "channel")
CASE_REQUIRED = ("case_no", "occurred_at", "township", "fraud_type", "loss")


class CasesConfig(_Model):
    """Case import (issue 7): the column names of the files the anti-fraud centre exports."""
    columns: dict[str, str] = {
        "case_no": "案件编号", "occurred_at": "发案时间", "township": "乡镇/街道", "fraud_type": "诈骗类型",
        "method": "作案手法", "age": "受害人年龄", "occupation": "职业", "gender": "性别", "loss": "损失金额",
        "channel": "联系渠道"}
    # extra names of fraud types in the files → intent ids (the built-in names are always known)
    type_aliases: dict[str, str] = {}

    @field_validator("columns")
    @classmethod
    def _fields(cls, v: dict) -> dict:
        bad = [k for k in v if k not in CASE_FIELDS]
        if bad:
            raise ValueError(f"unknown case fields {bad}; known: {', '.join(CASE_FIELDS)}")
        merged = {**cls.model_fields["columns"].default, **v}
        names = list(merged.values())
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"two fields read the same column {sorted(dup)}")
        return merged


class AssessmentConfig(_Model):
    """督导考核 (issue 7): every unit starts at 100; each shortfall deducts these points."""
    missed_push: float = Field(2, ge=0)          # a scheduled push that did not reach its group
    silent_group: float = Field(5, ge=0)         # a propaganda group with no push delivered in silent_days
    silent_days: int = Field(7, ge=1)
    overdue_warning: float = Field(3, ge=0)      # a warning of the unit's station not signed / not done in time
    no_pledges: float = Field(5, ge=0)           # a unit with community groups and no household pledges recorded


class ReportsConfig(_Model):
    """Statistics outputs (issue 7): the weekly report and the charts' font."""
    # weekday and time (service timezone) of the weekly report to the leadership group; null = off
    weekly: Optional[str] = "mon 09:00"
    # a CJK font file for the charts; empty = look for one (FANZHA_FONT, known paths, fontconfig)
    font: Optional[str] = None

    @field_validator("weekly")
    @classmethod
    def _weekly(cls, v):
        if v in (None, ""):
            return None
        m = re.fullmatch(r"(mon|tue|wed|thu|fri|sat|sun)\s+([01]?\d|2[0-3]):([0-5]\d)", v.strip().lower())
        if not m:
            raise ValueError(f"{v!r}: write a weekday and a time, e.g. \"mon 09:00\"")
        return v.strip().lower()


class MpConfig(_Model):
    """The WeChat official account (公众号): callback settings and its own server API.

    encoding_aes_key empty = plaintext mode; set = safe (encrypted) mode, receiveid = app_id.
    """
    api_base: str = "https://api.weixin.qq.com"
    app_id: str = Field(min_length=1)
    app_secret: str = Field(min_length=1)
    token: str = Field(min_length=3, max_length=32)
    encoding_aes_key: str = ""

    @field_validator("encoding_aes_key")
    @classmethod
    def _aes_key(cls, v: str) -> str:
        return "" if not v else _check_aes_key(v)

    @field_validator("api_base")
    @classmethod
    def _base(cls, v: str) -> str:
        return _check_base_url(v)

    @property
    def safe_mode(self) -> bool:
        return bool(self.encoding_aes_key)


class MassSendConfig(_Model):
    """Customer-group mass-send tasks (externalcontact/add_msg_template) that a member confirms."""
    poll_minutes: float = Field(5, gt=0)
    # a task nobody confirmed within this time is recorded as not sent (and cancelled)
    expire_hours: float = Field(72, gt=0)


class EscalationStep(_Model):
    """One escalation step: `after_minutes` from dispatch (or the last #转派), taken when the
    warning is still not `signed` / has no `result` by then, for the listed levels; it posts in the
    linkage group @-mentioning `notify` and writes to `direct` one to one. `kind` picks the text:
    remind (催办), escalate (升级), overdue (再次升级)."""
    kind: Literal["remind", "escalate", "overdue"]
    after_minutes: float = Field(gt=0)
    until: Literal["signed", "result"]
    levels: list[Literal["红", "橙", "黄"]] = ["红", "橙", "黄"]
    notify: list[Literal["liaisons", "chief", "command_centre"]] = Field(min_length=1)
    direct: list[Literal["liaisons", "chief", "command_centre"]] = []

    @property
    def key(self) -> str:
        """The step's name in the audit trail (unique per warning and assignment with its levels)."""
        return self.kind


class WarningsConfig(_Model):
    """Warning dispatch in the linkage group (issue 6): fall-back, escalation, API, daily summary."""
    # gets the warnings whose place matches no station's keywords (the anti-fraud centre's duty officer)
    duty_officer: Optional[str] = None
    # the 110 command centre: @-mentioned with the station chief when a warning is not signed in time
    command_centre: list[str] = []
    # environment variable holding the bearer token of POST /api/warnings (unset: the API refuses all)
    api_token_env: str = "FANZHA_WARNINGS_API_TOKEN"
    default_level: Literal["红", "橙", "黄"] = "橙"
    # escalation, counted from dispatch (or from the last #转派)
    remind_after_minutes: float = Field(5, gt=0)
    escalate_after_minutes: float = Field(15, gt=0)
    result_within_minutes_red: float = Field(60, gt=0)
    result_within_minutes: float = Field(240, gt=0)
    sweep_seconds: int = Field(30, ge=5)
    # HH:MM in the service's timezone, to the linkage and leadership groups
    daily_summary: str = "08:00"
    # the escalation steps; when not given they follow from the four limits above
    escalation: Optional[list[EscalationStep]] = None

    @field_validator("daily_summary")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        if not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", v.strip()):
            raise ValueError(f"{v!r} is not a time HH:MM")
        return v.strip()

    @model_validator(mode="after")
    def _order(self):
        if not self.remind_after_minutes < self.escalate_after_minutes:
            raise ValueError("remind_after_minutes must be less than escalate_after_minutes")
        if self.escalation is not None:
            seen = set()
            for i, st in enumerate(self.escalation):
                for level in st.levels:
                    if (st.kind, level) in seen:
                        raise ValueError(f"escalation.{i}: a second {st.kind} step for level {level}")
                    seen.add((st.kind, level))
        return self

    def steps(self) -> list[EscalationStep]:
        """The escalation steps in the order they fall due for a red warning."""
        steps = self.escalation if self.escalation is not None else [
            EscalationStep(kind="remind", after_minutes=self.remind_after_minutes, until="signed",
                           notify=["liaisons"], direct=["liaisons"]),
            EscalationStep(kind="escalate", after_minutes=self.escalate_after_minutes, until="signed",
                           notify=["chief", "command_centre"], direct=["chief", "command_centre"]),
            EscalationStep(kind="overdue", after_minutes=self.result_within_minutes_red, until="result",
                           levels=["红"], notify=["liaisons", "chief", "command_centre"],
                           direct=["chief", "command_centre"]),
            EscalationStep(kind="overdue", after_minutes=self.result_within_minutes, until="result",
                           levels=["橙", "黄"], notify=["liaisons", "chief", "command_centre"],
                           direct=["chief", "command_centre"])]
        return sorted(steps, key=lambda st: st.after_minutes)

    def sign_within(self, level: str) -> float:
        """Minutes a station has to sign: the last step that waits for a signature."""
        waits = [st.after_minutes for st in self.steps() if st.until == "signed" and level in st.levels]
        return max(waits) if waits else float("inf")

    def result_within(self, level: str) -> float:
        """Minutes a station has to report a result: the first step that waits for one."""
        waits = [st.after_minutes for st in self.steps() if st.until == "result" and level in st.levels]
        return min(waits) if waits else float("inf")

    def first_reminder(self, level: str) -> float:
        waits = [st.after_minutes for st in self.steps() if st.until == "signed" and level in st.levels]
        return min(waits) if waits else float("inf")

    def reference_errors(self, people: set[str]) -> list[str]:
        errors = []
        if self.duty_officer is not None and self.duty_officer not in people:
            errors.append(f"warnings.duty_officer: unknown person {self.duty_officer!r}")
        for i, u in enumerate(self.command_centre):
            if u not in people:
                errors.append(f"warnings.command_centre.{i}: unknown person {u!r}")
        return errors


def bureau_signature(units: list["UnitConfig"]) -> Optional[str]:
    """The default SMS signature: the bureau's name from the first unit named "…公安局…" (at least two
    characters before 公安局, e.g. 安平县公安局反诈中心 → 【安平县公安局】), or None."""
    for u in units:
        m = re.match(r"\s*(\S{2,10}?公安(分)?局)", u.name)
        if m and signature_problem(f"【{m.group(1)}】") is None:
            return f"【{m.group(1)}】"
    return None


class Config(_Model):
    timezone: str = "Asia/Shanghai"

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {v!r}: give an IANA name such as Asia/Shanghai")
        return v
    database: DatabaseConfig = DatabaseConfig()
    wecom: WecomConfig
    sender: SenderConfig = SenderConfig()
    qa: QaConfig = QaConfig()
    pictures: PicturesConfig = PicturesConfig()
    console: ConsoleConfig = ConsoleConfig()
    robots: dict[str, RobotConfig] = {}
    units: list[UnitConfig] = []
    groups: list[GroupConfig] = Field(min_length=1)
    stations: list[StationConfig] = []
    people: list[PersonConfig] = []
    mp: Optional[MpConfig] = None
    mass_send: MassSendConfig = MassSendConfig()
    campaigns: list[CampaignConfig] = []
    priorities: PrioritiesConfig = PrioritiesConfig()
    warnings: WarningsConfig = WarningsConfig()
    # issue 7: the county's townships (cases are counted per township), case import, assessment, reports
    townships: list[str] = []
    cases: CasesConfig = CasesConfig()
    assessment: AssessmentConfig = AssessmentConfig()
    reports: ReportsConfig = ReportsConfig()
    # issue 11: the signature campaigns put in front of the network venue's reminder SMS, 【…】 with 2–12
    # characters inside; it names the bureau (carriers refuse 【反诈提醒】, and scammers copy it).
    # Not set: the bureau's name from `units` (bureau_signature); see `signature`
    sms_signature: Optional[str] = None
    # set by load_config: where the file was, so relative paths resolve against it
    source: Optional[str] = None

    @field_validator("sms_signature")
    @classmethod
    def _signature(cls, v):
        if v is None or not v.strip():
            return None
        problem = signature_problem(v)
        if problem:
            raise ValueError(problem)
        return v.strip()

    @property
    def signature(self) -> Optional[str]:
        """The reminder SMS signature: `sms_signature`, else the bureau's name from `units`."""
        return self.sms_signature or bureau_signature(self.units)

    @model_validator(mode="after")
    def _references(self):
        errors: list[str] = []
        people = {p.userid for p in self.people}
        units = {u.id for u in self.units}
        seen: set[str] = set()
        for i, g in enumerate(self.groups):
            where = f"groups.{i}"
            if g.id in seen:
                errors.append(f"{where}.id: duplicate group id {g.id!r}")
            seen.add(g.id)
            if g.unit is not None and g.unit not in units:
                errors.append(f"{where}.unit: unknown unit {g.unit!r}")
            if g.send.robot is not None and g.send.robot not in self.robots:
                errors.append(f"{where}.send.robot: unknown robot {g.send.robot!r}")
            if g.send.owner is not None and g.send.owner not in people:
                errors.append(f"{where}.send.owner: unknown person {g.send.owner!r}")
            for j, m in enumerate(g.members):
                if m not in people:
                    errors.append(f"{where}.members.{j}: unknown person {m!r}")
        if not any(g.kind == "linkage" for g in self.groups):
            errors.append("groups: needs one group of kind linkage")
        robots_used = [g.send.robot for g in self.groups if g.send.robot]
        for name in {r for r in robots_used if robots_used.count(r) > 1}:
            errors.append(f"robots.{name}: a robot sits in one group only, but several groups use it")
        station_ids = set()
        for i, s in enumerate(self.stations):
            if s.id in station_ids:
                errors.append(f"stations.{i}.id: duplicate station id {s.id!r}")
            station_ids.add(s.id)
            for j, u in enumerate(s.liaisons):
                if u not in people:
                    errors.append(f"stations.{i}.liaisons.{j}: unknown person {u!r}")
            if s.chief not in people:
                errors.append(f"stations.{i}.chief: unknown person {s.chief!r}")
            if s.unit is not None and s.unit not in units:
                errors.append(f"stations.{i}.unit: unknown unit {s.unit!r}")
        userids = set()
        for i, p in enumerate(self.people):
            if p.userid in userids:
                errors.append(f"people.{i}.userid: duplicate userid {p.userid!r}")
            userids.add(p.userid)
            if p.station is not None and p.station not in station_ids:
                errors.append(f"people.{i}.station: unknown station {p.station!r}")
        names = [c.name for c in self.campaigns]
        for i, c in enumerate(self.campaigns):
            if names.count(c.name) > 1:
                errors.append(f"campaigns.{i}.name: duplicate campaign name {c.name!r}")
            for j, gid in enumerate(c.targets.groups):
                if gid not in seen:
                    errors.append(f"campaigns.{i}.targets.groups.{j}: unknown group {gid!r}")
            for j, kind in enumerate(c.targets.kinds):
                if not any(g.kind == kind for g in self.groups):
                    errors.append(f"campaigns.{i}.targets.kinds.{j}: no group of kind {kind!r}")
        errors.extend(self.warnings.reference_errors(people))
        if self.signature is None:
            for i, c in enumerate(self.campaigns):
                if "venue" in c.draw_from and any(g.kind == "network" for g in self.campaign_groups(c)):
                    errors.append(f"sms_signature: campaigns.{i} sends reminder SMS to network groups, but no "
                                  "signature is set and no unit is named …公安局 to take it from; "
                                  "set sms_signature, e.g. 【安平县公安局】")
                    break
        if errors:
            raise ValueError("\n".join(errors))
        return self

    def catalog(self):
        """The intents of the scenario files this service answers with (content.intents.Catalog)."""
        return catalog(self.qa.content_dir)

    def _path(self, value: Optional[str], default: Path) -> Path:
        """A configured path (relative to the config file's folder), or the default."""
        if not value:
            return default
        p = Path(value)
        return p if p.is_absolute() or not self.source else Path(self.source).parent / p

    @property
    def content_path(self) -> Path:
        """The scenario files (qa.content_dir as given, relative to the working folder; default content/scenarios/)."""
        return Path(self.qa.content_dir) if self.qa.content_dir else DEFAULT_DIR

    @property
    def examples_path(self) -> Path:
        """The Q&A's labelled examples (qa.examples_dir, default content/examples/)."""
        return self._path(self.qa.examples_dir, EXAMPLES_DIR)

    @property
    def weights_path(self) -> Path:
        """The learned weights the service answers with (qa.weights_file, default content/weights.json)."""
        return self._path(self.qa.weights_file, WEIGHTS_PATH)

    def content_errors(self) -> list[str]:
        """Keys that name fraud types, checked against the scenario files (raises ContentError when
        the files themselves are broken)."""
        cat = self.catalog()
        errors = [f"priorities.weights.{k}: unknown fraud type; the scenario files have {', '.join(cat.fraud)}"
                  for k in self.priorities.weights if k not in cat.fraud + ("app",)]
        errors += [f"cases.type_aliases.{k}: {t!r} is not a fraud type; the scenario files have {', '.join(cat.fraud)}"
                   for k, t in self.cases.type_aliases.items() if t not in cat.fraud]
        return errors

    def campaign(self, name: str) -> Optional["CampaignConfig"]:
        return next((c for c in self.campaigns if c.name == name), None)

    def campaign_groups(self, c: "CampaignConfig") -> list[GroupConfig]:
        """The groups a campaign reaches, in config order."""
        return [g for g in self.groups if g.id in c.targets.groups or g.kind in c.targets.kinds]

    # --- look-ups used across the service -------------------------------------------
    def person(self, userid: str) -> Optional[PersonConfig]:
        return next((p for p in self.people if p.userid == userid), None)

    def roles_of(self, userid: str) -> set[str]:
        p = self.person(userid)
        return set(p.roles) if p else {"resident"}

    def group(self, group_id: str) -> Optional[GroupConfig]:
        return next((g for g in self.groups if g.id == group_id), None)

    def group_by_aibot_chatid(self, chatid: str) -> Optional[GroupConfig]:
        return next((g for g in self.groups if (g.aibot_chatid or g.id) == chatid), None)

    def groups_of_kind(self, kind: str) -> list[GroupConfig]:
        return [g for g in self.groups if g.kind == kind]

    def unit_name(self, unit_id: Optional[str]) -> str:
        u = next((u for u in self.units if u.id == unit_id), None)
        return u.name if u else (unit_id or "")

    def station(self, station_id: str) -> Optional[StationConfig]:
        return next((s for s in self.stations if s.id == station_id), None)


def substitute_env(value, env=None, path: str = "", errors: Optional[list] = None):
    """Replace `${VAR}` / `${VAR:-default}` in every string of a parsed YAML tree."""
    env = os.environ if env is None else env
    errors = [] if errors is None else errors
    if isinstance(value, dict):
        return {k: substitute_env(v, env, f"{path}.{k}" if path else str(k), errors) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_env(v, env, f"{path}.{i}", errors) for i, v in enumerate(value)]
    if isinstance(value, str):
        def repl(m):
            name, default = m.group(1), m.group(2)
            if name in env and env[name] != "":
                return env[name]
            if default is not None:
                return default
            errors.append(f"{path}: environment variable {name} is not set")
            return ""
        return _ENV_REF.sub(repl, value)
    return value


def _pydantic_errors(exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        # the cross-reference validator reports several lines at once, each already keyed
        for line in msg.split("\n"):
            lines.append(f"{loc}: {line}" if loc else line)
    return lines


def load_config(path: str | os.PathLike = "config.yaml", env=None) -> Config:
    """Read, substitute and validate a config file; raise ConfigError naming every bad key."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(str(path), [f"cannot read file: {e.strerror or e}"])
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        raise ConfigError(str(path), [f"{where}: not valid YAML ({getattr(e, 'problem', e)})"])
    if not isinstance(raw, dict):
        raise ConfigError(str(path), ["(top level): must be a mapping of keys"])
    errors: list[str] = []
    raw = substitute_env(raw, env, "", errors)
    raw["source"] = str(p.resolve())
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as e:
        errors.extend(_pydantic_errors(e))
    if errors:
        raise ConfigError(str(path), errors)
    return cfg
