"""Cases (issue 7): import from CSV / XLSX, victim follow-ups (回访), household pledges, demo data.

An import reads the whole file first and checks every row; each bad row is reported as
(row, column, reason). With any error nothing is written (one transaction), unless
`skip_bad` is set: then the good rows are written and the bad ones reported. A case number
seen before is updated, never duplicated.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Callable, Iterable, Optional
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.case_models import CaseFollowUp, FraudCase, HouseholdPledge
from bot.config import CASE_REQUIRED, Config
from bot.db import column_limit, insert_unless_exists, session_scope, utcnow

# --- fraud types ---------------------------------------------------------------------------------

AGE_GROUPS = ("<18", "18-40", "41-65", ">65", "未知")


def type_name(intent: str, config: Config) -> str:
    """A fraud type's name in the case statistics (from its scenario file: case_name)."""
    return config.catalog().case_name(intent)


def match_type(label: str, config: Config) -> Optional[str]:
    """An intent id for a fraud type as a file names it (the config's aliases first, then the
    scenario files' names and case words), or None when unknown."""
    t = re.sub(r"\s+", "", str(label or ""))
    if not t:
        return None
    if t in config.cases.type_aliases:
        return config.cases.type_aliases[t]
    return config.catalog().case_type(t)


def age_group(age: Optional[int]) -> str:
    if age is None:
        return "未知"
    return "<18" if age < 18 else "18-40" if age <= 40 else "41-65" if age <= 65 else ">65"


# --- reading files -------------------------------------------------------------------------------

class ImportFailed(Exception):
    """The file cannot be imported at all (type, encoding, missing columns): nothing was written."""


@dataclass
class RowError:
    row: int            # the spreadsheet row (the header is row 1)
    column: str
    reason: str

    def __str__(self) -> str:
        return f"第{self.row}行 {self.column}: {self.reason}"


@dataclass
class ImportResult:
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    unknown_types: Counter = field(default_factory=Counter)
    written: bool = False

    def summary(self) -> str:
        lines = [f"读取 {self.rows} 行：新增 {self.inserted} 件，更新 {self.updated} 件，错误 {len(self.errors)} 处"
                 + ("" if self.written or not self.errors else "，未写入任何数据")]
        if self.unknown_types:
            lines.append("未知诈骗类型：" + "、".join(f"{k}（{v}行）" for k, v in self.unknown_types.most_common()))
        return "\n".join(lines)


def read_table(path: str | Path) -> tuple[list[str], Iterable[tuple[int, list]]]:
    """(header, rows as (row number, values)) of a CSV (UTF-8 or GBK) or XLSX file."""
    p = Path(path)
    ext = p.suffix.lower()
    if not p.is_file():
        raise ImportFailed(f"{p}: 文件不存在")
    if ext == ".csv":
        data = p.read_bytes()
        for enc in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:  # pragma: no cover - gb18030 decodes any byte string
            raise ImportFailed(f"{p}: 无法识别文件编码（请用 UTF-8 或 GBK）")
        rows = list(csv.reader(io.StringIO(text)))
        if not rows:
            raise ImportFailed(f"{p}: 文件为空")
        return [h.strip() for h in rows[0]], ((i, r) for i, r in enumerate(rows[1:], 2))
    if ext == ".xlsx":
        import zipfile
        from openpyxl import load_workbook
        try:
            wb = load_workbook(p, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
            raise ImportFailed(f"{p}: 不是有效的 XLSX 文件（{e}）")
        ws = wb.worksheets[0]
        it = ws.iter_rows(values_only=True)
        header = next(it, None)
        if header is None:
            raise ImportFailed(f"{p}: 工作表为空")
        return ([str(h).strip() if h is not None else "" for h in header],
                ((i, list(r)) for i, r in enumerate(it, 2)))
    raise ImportFailed(f"{p}: 不支持的文件类型“{ext or '无扩展名'}”，请提供 CSV 或 XLSX 文件")


_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
                 "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d")


def parse_time(v, tz: ZoneInfo) -> dt.datetime:
    if isinstance(v, dt.datetime):
        local = v
    elif isinstance(v, dt.date):
        local = dt.datetime(v.year, v.month, v.day)
    else:
        s = str(v or "").strip()
        m = re.fullmatch(r"(\d{4})年(\d{1,2})月(\d{1,2})日(?:\s*(\d{1,2})[:：时](\d{1,2})分?)?", s)
        if m:
            local = dt.datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4] or 0), int(m[5] or 0))
        else:
            for f in _DATE_FORMATS:
                try:
                    local = dt.datetime.strptime(s, f)
                    break
                except ValueError:
                    continue
            else:
                raise ValueError(f"无法识别的日期“{s}”（例：2025-03-08 14:30）" if s else "不能为空")
    if local.tzinfo is None:
        local = local.replace(tzinfo=tz)
    return local.astimezone(dt.timezone.utc)


def parse_amount(v) -> int:
    """An amount in yuan (12,345.6 / 1.2万 / 800元) → fen; negative or unreadable raises ValueError."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        d = Decimal(str(v))
    else:
        s = str(v or "").strip().replace(",", "").replace("，", "").replace("元", "").replace("¥", "").replace("￥", "")
        if not s:
            raise ValueError("不能为空")
        mult = Decimal(1)
        if s.endswith("万"):
            s, mult = s[:-1], Decimal(10000)
        try:
            d = Decimal(s) * mult
        except InvalidOperation:
            raise ValueError(f"无法识别的金额“{v}”")
    if not d.is_finite():
        raise ValueError(f"无法识别的金额“{v}”")
    if d < 0:
        raise ValueError(f"损失金额不能为负数（{v}）")
    return int((d * 100).to_integral_value())


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


@dataclass
class ParsedFile:
    rows: int
    good: list[dict]
    errors: list[RowError]
    unknown_types: Counter


def parse_file(path: str | Path, config: Config) -> ParsedFile:
    """Read and check every row; raises ImportFailed when the file itself is unusable."""
    header, rows = read_table(path)
    cols = config.cases.columns
    missing = [cols[f] for f in CASE_REQUIRED if cols[f] not in header]
    if missing:
        raise ImportFailed(f"{Path(path).name}: 缺少必需的列：{'、'.join(missing)}（第1行表头为：{'、'.join(h for h in header if h)}）")
    idx = {f: header.index(name) for f, name in cols.items() if name in header}
    tz = ZoneInfo(config.timezone)
    townships = set(config.townships)
    good, errors, unknown = [], [], Counter()
    seen: dict[str, int] = {}
    n = 0
    src = Path(path).name[:200]
    for rownum, values in rows:
        if not any(v not in (None, "") and str(v).strip() for v in values):
            continue                                        # blank line
        n += 1

        def get(f):
            i = idx.get(f)
            return values[i] if i is not None and i < len(values) else None
        row_errors = []

        def bad(f, reason):
            row_errors.append(RowError(rownum, cols[f], reason))

        def text(f, column=None):
            """The cell as text; longer than its column: a row error, never cut short."""
            value = _text(get(f))
            limit = column_limit(FraudCase, column or f)
            if limit is not None and len(value) > limit:
                bad(f, f"太长（{len(value)}字，最多{limit}字）")
            return value
        case_no = text("case_no")
        if not case_no:
            bad("case_no", "不能为空")
        elif case_no in seen:
            bad("case_no", f"案件编号“{case_no}”与第{seen[case_no]}行重复")
        else:
            seen[case_no] = rownum
        occurred = None
        try:
            occurred = parse_time(get("occurred_at"), tz)
        except ValueError as e:
            bad("occurred_at", str(e))
        township = text("township")
        if not township:
            bad("township", "不能为空")
        elif townships and township not in townships:
            bad("township", f"未知乡镇“{township}”（配置中的乡镇：{'、'.join(config.townships)}）")
        label = text("fraud_type", "type_label")
        intent = match_type(label, config)
        if intent is None:
            if label:
                unknown[label] += 1
            bad("fraud_type", f"未知诈骗类型“{label}”（可在 cases.type_aliases 中对应到类型编号）" if label else "不能为空")
        loss = None
        try:
            loss = parse_amount(get("loss"))
        except ValueError as e:
            bad("loss", str(e))
        age = None
        raw_age = get("age")
        if raw_age not in (None, "") and str(raw_age).strip():
            try:
                age = int(Decimal(str(raw_age).strip().rstrip("岁")))
                if not 0 <= age <= 120:
                    raise ValueError
            except (ValueError, InvalidOperation):
                bad("age", f"年龄应为0到120之间的整数（{raw_age}）")
                age = None
        method, occupation, gender, channel = text("method"), text("occupation"), text("gender"), text("channel")
        if row_errors:
            errors.extend(row_errors)
            continue
        local = occurred.astimezone(tz)
        good.append(dict(case_no=case_no, occurred_at=occurred, month=f"{local:%Y-%m}", township=township,
                         fraud_type=intent, type_label=label, method=method, victim_age=age,
                         age_group=age_group(age), occupation=occupation or "未知",
                         gender=gender or "未知", loss_fen=loss, channel=channel or "未知", source=src))
    return ParsedFile(n, good, errors, unknown)


def upsert_cases(session, rows: list[dict], now: dt.datetime) -> tuple[int, int]:
    """Insert new cases and update known ones (by case_no); → (inserted, updated)."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert
    if not rows:
        return 0, 0
    dialect = session.bind.dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = FraudCase.__table__
    existing = 0
    updated_cols = [c for c in rows[0] if c != "case_no"] + ["updated_at"]
    stmt = insert(table)
    stmt = stmt.on_conflict_do_update(index_elements=["case_no"], set_={c: stmt.excluded[c] for c in updated_cols})
    chunk = 5000
    for i in range(0, len(rows), chunk):
        part = rows[i:i + chunk]
        existing += session.scalar(select(func.count()).select_from(table)
                                   .where(table.c.case_no.in_([r["case_no"] for r in part]))) or 0
        # executemany: SQLAlchemy batches the rows into multi-row INSERTs ("insertmanyvalues")
        session.execute(stmt, [{**r, "imported_at": now, "updated_at": now} for r in part])
    return len(rows) - existing, existing


def import_file(sessions, config: Config, path: str | Path, skip_bad: bool = False,
                now: Optional[dt.datetime] = None,
                also: Optional[Callable[[object, ImportResult], None]] = None) -> ImportResult:
    """Import a case file; raises ImportFailed for an unusable file (nothing written).

    `also(session, result)` runs in the transaction that writes the cases (the console records
    who imported the file in it); it does not run when nothing is written."""
    parsed = parse_file(path, config)
    res = ImportResult(rows=parsed.rows, errors=parsed.errors, unknown_types=parsed.unknown_types)
    if parsed.errors and not skip_bad:
        return res
    with session_scope(sessions) as s:
        res.inserted, res.updated = upsert_cases(s, parsed.good, now or utcnow())
        res.written = True
        if also is not None:
            also(s, res)
    return res


# --- follow-ups and pledges ----------------------------------------------------------------------

class CaseError(Exception):
    pass


def find_case(session, case_no: str) -> FraudCase:
    c = session.scalar(select(FraudCase).where(FraudCase.case_no == case_no.strip()))
    if c is None:
        raise CaseError(f"没有案件编号为“{case_no}”的案件")
    return c


# how a follow-up was made (#回访 走访：… ; the console's form offers the same)
FOLLOW_UP_METHODS = ("电话", "走访", "上门", "微信", "视频")
# a follow-up's or a pledge's note: longer is refused with its length, never cut short
NOTE_MAX = 1000


def follow_up_in(session, case_no: str, *, by: str, note: str, method: str = "电话",
                 at: Optional[dt.datetime] = None, source_ref: Optional[str] = None) -> bool:
    """Record a follow-up of a case in the caller's transaction; False when `source_ref` recorded it before."""
    c = find_case(session, case_no)
    return insert_unless_exists(session, CaseFollowUp, dict(
        case_id=c.id, at=at or utcnow(), by=by, method=method, note=note, created_at=utcnow(),
        source_ref=source_ref or f"cli:{uuid.uuid4().hex}"), ["source_ref"]) is not None


def add_follow_up(sessions, case_no: str, *, by: str, note: str, method: str = "电话",
                  at: Optional[dt.datetime] = None, source_ref: Optional[str] = None) -> bool:
    """Record a follow-up of a case; False when the message `source_ref` recorded it before."""
    with session_scope(sessions) as s:
        return follow_up_in(s, case_no, by=by, note=note, method=method, at=at, source_ref=source_ref)


def follow_ups(sessions, case_no: str) -> tuple[FraudCase, list[CaseFollowUp]]:
    with sessions() as s:
        c = find_case(s, case_no)
        return c, list(s.scalars(select(CaseFollowUp).where(CaseFollowUp.case_id == c.id)
                                 .order_by(CaseFollowUp.at, CaseFollowUp.id)))


def pledge_in(session, *, unit: str, households: int, note: str, by: str, source_ref: Optional[str] = None,
              at: Optional[dt.datetime] = None) -> bool:
    """Record households that signed the pledge in the caller's transaction; False when this
    source_ref was recorded before."""
    if households <= 0:
        raise CaseError("户数应为正整数")
    return insert_unless_exists(session, HouseholdPledge, dict(
        unit=unit, households=households, note=note, recorded_by=by, recorded_at=at or utcnow(),
        source_ref=source_ref or f"cli:{uuid.uuid4().hex}"), ["source_ref"]) is not None


def record_pledge(sessions, *, unit: str, households: int, note: str, by: str, source_ref: Optional[str] = None,
                  at: Optional[dt.datetime] = None) -> bool:
    """Record households that signed the pledge; False when this source_ref was recorded before."""
    if households <= 0:
        raise CaseError("户数应为正整数")
    with session_scope(sessions) as s:
        return pledge_in(s, unit=unit, households=households, note=note, by=by, source_ref=source_ref, at=at)


# --- demo data -----------------------------------------------------------------------------------

# Shares of cases per type, after MPS publications (fraud-facts.md §3): 刷单 about a third of all
# cases and the largest total loss; 投资 the largest loss per case; 购物 third most frequent; the
# five big types ≈ 80 %. The rest is spread thinly (an assumption, not a published figure).
DEMO_TYPE_SHARES = {"shuadan": 30, "touzi": 13, "gouwu": 11, "kefu": 10, "daikuan": 9, "gongjianfa": 6,
                    "zhengxin": 4, "lingdao": 4, "jiaoyou": 3, "youxi": 3, "zhongjiang": 1.5, "butie": 1.5,
                    "luoliao": 1.2, "laoshi": 1, "yanglao": 1.3, "liangka": 0.5}
# median loss per case in yuan (log-normal, sigma 1.1): 投资 highest per case, 刷单 highest in total
DEMO_MEDIAN_LOSS = {"shuadan": 15000, "touzi": 30000, "gouwu": 2500, "kefu": 12000, "daikuan": 6000,
                    "gongjianfa": 28000, "zhengxin": 18000, "lingdao": 20000, "jiaoyou": 26000, "youxi": 1500,
                    "zhongjiang": 2500, "butie": 3500, "luoliao": 6000, "laoshi": 400, "yanglao": 15000,
                    "liangka": 800}
# victims' age groups: 18-40 = 62.1 %, 41-65 = 33.1 % (MPS 2024, 2023 data); the rest split
DEMO_AGE_SHARES = {"<18": 2.3, "18-40": 62.1, "41-65": 33.1, ">65": 2.5}
DEMO_TOWNSHIP_SHARES = [45, 25, 14, 9, 7]           # the configured townships in order (seat first)
DEMO_METHODS = {
    "shuadan": ["点赞关注返佣，后要求垫付做复合任务", "兼职群派单，以卡单为由要求继续充值"],
    "touzi": ["荐股群导师带单，虚假平台无法提现", "婚恋对象介绍投资平台，以缴纳保证金为由继续转账"],
    "gouwu": ["低价代购，私下转账后被拉黑", "二手交易要求平台外付款"],
    "kefu": ["冒充快递客服理赔，诱导屏幕共享", "称误开通会员将自动扣费，诱导转账"],
    "daikuan": ["无抵押贷款，放款前收取解冻费", "以银行卡号填错为由收取保证金"],
    "gongjianfa": ["冒充公安称涉嫌洗钱，要求转入安全账户", "出示假通缉令，要求资金核查"],
    "zhengxin": ["称校园贷未注销影响征信，诱导贷款转账"], "lingdao": ["冒充领导要求财务转账", "冒充亲友借钱"],
    "jiaoyou": ["网恋对象以项目周转为由借钱"], "youxi": ["低价卖游戏账号，以账户冻结为由收费"],
    "zhongjiang": ["积分兑换短信链接盗刷"], "butie": ["虚假退税链接套取验证码"], "luoliao": ["裸聊录屏后敲诈"],
    "laoshi": ["冒充老师在家长群收资料费"], "yanglao": ["免费讲座推销高价保健品"], "liangka": ["出租银行卡被用于转账"]}
DEMO_CHANNELS = {
    "default": [("电话", 25), ("微信", 30), ("QQ", 10), ("短信", 10), ("网络平台/APP", 20), ("短视频平台", 5)],
    "shuadan": [("微信", 35), ("QQ", 25), ("短视频平台", 25), ("网络平台/APP", 15)],
    "kefu": [("电话", 80), ("短信", 20)], "gongjianfa": [("电话", 85), ("微信", 15)],
    "jiaoyou": [("婚恋交友网站", 50), ("微信", 50)], "gouwu": [("网络平台/APP", 55), ("微信", 30), ("短视频平台", 15)]}


def _occupation(rng: random.Random, age: int, intent: str) -> str:
    if age < 23 and (age < 18 or rng.random() < 0.7):
        return "学生"
    if age > 60 and rng.random() < 0.7:
        return "离退休人员"
    if intent == "lingdao" and rng.random() < 0.6:
        return "企业财务人员"
    return rng.choices(["企业职员", "个体经营者", "务农", "自由职业", "无业", "公职人员", "其他"],
                       [30, 16, 14, 14, 12, 6, 8])[0]


def _age(rng: random.Random, intent: str) -> int:
    if intent == "yanglao":
        return rng.randint(60, 85)
    groups = list(DEMO_AGE_SHARES)
    weights = list(DEMO_AGE_SHARES.values())
    if intent in ("youxi", "laoshi"):
        weights = [30, 66, 4, 0] if intent == "youxi" else [0, 60, 40, 0]
    g = rng.choices(groups, weights)[0]
    lo, hi = {"<18": (12, 17), "18-40": (18, 40), "41-65": (41, 65), ">65": (66, 82)}[g]
    if g == "18-40":          # the published average age is 37: more people in their late twenties and thirties
        return min(40, max(18, int(rng.triangular(18, 41, 30))))
    return rng.randint(lo, hi)


def demo_cases(config: Config, *, count: int = 2400, seed: int = 7, end: Optional[dt.date] = None,
               years: int = 2) -> list[dict]:
    """Generated cases over `years` years up to `end` (rows as the import writes them)."""
    rng = random.Random(seed)
    tz = ZoneInfo(config.timezone)
    townships = config.townships or ["城关镇"]
    tw = (DEMO_TOWNSHIP_SHARES + [5] * len(townships))[:len(townships)]
    end = end or dt.datetime.now(tz).date()
    start = end - dt.timedelta(days=365 * years)
    span = (end - start).days
    known = config.catalog().fraud
    types = [t for t in DEMO_TYPE_SHARES if t in known]
    tshares = [DEMO_TYPE_SHARES[t] for t in types]
    rows = []
    for i in range(count):
        # a slight upward trend of 购物 and 客服 in the last months, as the 2023 lists report
        day = start + dt.timedelta(days=min(span - 1, int(rng.random() * span)))
        recent = (end - day).days < 90
        weights = [w * (1.6 if recent and t in ("gouwu", "kefu") else 1) for t, w in zip(types, tshares)]
        intent = rng.choices(types, weights)[0]
        age = _age(rng, intent)
        loss_yuan = DEMO_MEDIAN_LOSS[intent] * rng.lognormvariate(0, 1.1)
        local = dt.datetime(day.year, day.month, day.day, rng.choice([8, 9, 10, 11, 13, 14, 15, 16, 19, 20, 21, 22]),
                            rng.randrange(60), tzinfo=tz)
        channels = DEMO_CHANNELS.get(intent, DEMO_CHANNELS["default"])
        rows.append(dict(
            case_no=f"AJ{local:%Y}{i + 1:06d}", occurred_at=local.astimezone(dt.timezone.utc), month=f"{local:%Y-%m}",
            township=rng.choices(townships, tw)[0], fraud_type=intent, type_label=type_name(intent, config),
            method=rng.choice(DEMO_METHODS[intent]), victim_age=age, age_group=age_group(age),
            occupation=_occupation(rng, age, intent), gender=rng.choice(["男", "女", "女"]) if intent != "yanglao"
            else rng.choice(["男", "女"]), loss_fen=int(round(loss_yuan, 2) * 100),
            channel=rng.choices([c for c, _w in channels], [w for _c, w in channels])[0], source="demo-data"))
    return rows


def write_csv(rows: list[dict], path: str | Path, config: Config) -> None:
    """Rows as a case file with the configured column names (what `cases import` reads)."""
    cols = config.cases.columns
    tz = ZoneInfo(config.timezone)
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        fields = ["case_no", "occurred_at", "township", "fraud_type", "method", "age", "occupation", "gender", "loss",
                  "channel"]
        w.writerow([cols[c] for c in fields])
        for r in rows:
            w.writerow([r["case_no"], r["occurred_at"].astimezone(tz).strftime("%Y-%m-%d %H:%M"), r["township"],
                        r["type_label"], r["method"], r["victim_age"] if r["victim_age"] is not None else "",
                        r["occupation"], r["gender"], f"{r['loss_fen'] / 100:.2f}", r["channel"]])


def load_demo(sessions, config: Config, **kw) -> int:
    rows = demo_cases(config, **kw)
    with session_scope(sessions) as s:
        upsert_cases(s, rows, utcnow())
    return len(rows)
