"""Command line: `python -m bot <command>` (see `python -m bot --help`)."""
from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import sys
import threading
from pathlib import Path

from bot.config import Config, ConfigError, load_config

log = logging.getLogger("bot")

DEFAULT_CONFIG = os.environ.get("FANZHA_CONFIG", "config.yaml")


def _config(path: str) -> Config:
    """Load the config or exit 1 with every error as `file: key: reason` (never a traceback)."""
    try:
        return load_config(path)
    except ConfigError as e:
        print(e.render(), file=sys.stderr)
        raise SystemExit(1)


def _service_or_exit(fn):
    from bot.db import SchemaError
    from content import ContentError
    try:
        return fn()
    except SchemaError as e:
        print(f"database: {e}", file=sys.stderr)
        raise SystemExit(1)
    except ContentError as e:
        print("\n".join(e.errors), file=sys.stderr)
        raise SystemExit(1)
    except ConfigError as e:
        print(e.render(), file=sys.stderr)
        raise SystemExit(1)
    except Exception as e:  # an unreachable database must read as one line, not a traceback
        if type(e).__module__.startswith("sqlalchemy"):
            print(f"database: cannot use it: {str(e).splitlines()[0]}", file=sys.stderr)
            raise SystemExit(1)
        raise


def cmd_check_config(args) -> int:
    """Every check start-up makes (config, content, the config against the content), without a
    database: `ok`, or each problem as `file: key: reason`."""
    from bot.app import check_startup
    from content import ContentError
    try:
        check_startup(load_config(args.path))
    except ConfigError as e:
        print(e.render())
        return 1
    except ContentError as e:
        print("\n".join(e.errors))
        return 1
    cfg = load_config(args.path)
    if not cfg.console.secret:
        print(f"{cfg.source}: console.secret: not set: /console/ will refuse every page until "
              "FANZHA_CONSOLE_SECRET holds 32+ random characters (the bot itself runs)")
    print("ok")
    return 0


def cmd_db(args) -> int:
    from bot.db import current_revision, make_engine, upgrade
    cfg = _config(args.config)
    engine = make_engine(cfg.database.url, Path(cfg.source).parent)
    if args.action == "upgrade":
        _service_or_exit(lambda: upgrade(engine))
        print(f"database at revision {current_revision(engine)}")
    else:
        print(current_revision(engine) or "empty")
    return 0


def _make_app(cfg: Config, start_sender: bool = True, start_scheduler: bool = True):
    from bot.app import create_app
    return _service_or_exit(lambda: create_app(cfg, start_sender=start_sender, start_scheduler=start_scheduler))


def _stop_on_signal() -> threading.Event:
    """Ctrl-C and SIGTERM set the returned event; installed before anything starts."""
    stop = threading.Event()

    def handler(_sig, _frame):
        stop.set()
    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop


def _wait(stop: threading.Event) -> None:
    while not stop.wait(0.5):
        pass


def cmd_serve(args) -> int:
    from bot.netutil import ServerThread
    cfg = _config(args.config)
    stop = _stop_on_signal()
    app = _make_app(cfg, start_sender=not args.no_sender, start_scheduler=not args.no_sender)
    server = ServerThread(app, args.host, args.port).start()
    print(f"bot listening on {server.url}  (callbacks: {server.url}/wecom/aibot/callback, {server.url}/wecom/callback)",
          flush=True)
    _wait(stop)
    server.stop()
    app.extensions["fanzha"].stop()
    print("stopped", flush=True)
    return 0


def cmd_worker(args) -> int:
    from bot.app import Service
    cfg = _config(args.config)
    stop = _stop_on_signal()
    svc = _service_or_exit(lambda: Service(cfg))
    print("outbox sender and scheduler running (Ctrl-C to stop)", flush=True)
    svc.start()
    _wait(stop)
    svc.stop()
    return 0


def cmd_simulator(args) -> int:
    from bot.netutil import ServerThread
    from bot.simulator import create_simulator
    cfg = _config(args.config)
    stop = _stop_on_signal()
    url = f"http://{args.host}:{args.port}"
    app = create_simulator(cfg, bot_url=args.bot_url, public_url=url)
    server = ServerThread(app, args.host, args.port).start()
    print(f"WeCom simulator on {server.url} (bot at {args.bot_url})", flush=True)
    _wait(stop)
    server.stop()
    return 0


def cmd_demo(args) -> int:
    """Bot on :8000 and simulator on :8001, SQLite under ./data/, one process."""
    from bot.netutil import ServerThread
    from bot.simulator import create_simulator
    cfg = _config(args.config)
    stop = _stop_on_signal()
    sim_url = f"http://{args.host}:{args.sim_port}"
    bot_url = f"http://{args.host}:{args.port}"
    if cfg.wecom.api_base != sim_url:
        cfg = cfg.model_copy(update={"wecom": cfg.wecom.model_copy(update={"api_base": sim_url})})
    if cfg.mp is not None and cfg.mp.api_base != sim_url:   # the simulator plays the official account too
        cfg = cfg.model_copy(update={"mp": cfg.mp.model_copy(update={"api_base": sim_url})})
    # a newcomer trying the demo at night should still see the scheduled pushes arrive
    cfg = cfg.model_copy(update={"campaigns": [c.model_copy(update={"quiet_hours": None}) for c in cfg.campaigns]})
    # the console: the demo's local log-in (pick a person), sessions signed with a key made for this run
    # unless FANZHA_CONSOLE_SECRET gives one; the simulator plays WeCom's log-in pages too
    cfg = cfg.model_copy(update={"console": cfg.console.model_copy(update={
        "login": "local", "secret": cfg.console.secret or secrets.token_urlsafe(32),
        "oauth_base": sim_url, "sso_base": sim_url})})
    sim = ServerThread(create_simulator(cfg, bot_url=bot_url, public_url=sim_url), args.host, args.sim_port).start()
    app = _make_app(cfg)
    bot = ServerThread(app, args.host, args.port).start()
    print("反诈哨兵 demo is running", flush=True)
    print(f"  WeCom simulator (open in a browser): {sim.url}/", flush=True)
    print(f"  console (pick a person to log in):   {bot.url}/console/", flush=True)
    print(f"  bot:                                 {bot.url}/healthz", flush=True)
    print(f"  database: {cfg.database.url}", flush=True)
    print("  campaigns push every few minutes (quiet hours are off in the demo)", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    _wait(stop)
    bot.stop()
    sim.stop()
    app.extensions["fanzha"].stop()
    print("stopped", flush=True)
    return 0


def cmd_outbox(args) -> int:
    from sqlalchemy import select
    from bot.app import Service
    from bot.core.outbox import requeue_dead
    from bot.db import utcnow
    from bot.models import OutboxMessage
    from bot.privacy import mask_phone
    cfg = _config(args.config)
    svc = _service_or_exit(lambda: Service(cfg))
    if args.action == "list":
        with svc.sessions() as s:
            q = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(args.limit)
            if args.state:
                q = q.where(OutboxMessage.state == args.state)
            for r in s.scalars(q):
                unknown = f"\t{r.unknown_outcomes} unknown" if r.unknown_outcomes else "\t"
                print(f"{r.id}\t{r.state}\t{r.channel}\t{mask_phone(r.target)[:40]}\t{r.attempts}{unknown}\t"
                      f"{mask_phone(r.last_error or '')}")
    elif args.action == "retry-dead":
        n = requeue_dead(svc.sessions, utcnow())
        print(f"{n} dead messages queued again")
    return 0


def cmd_campaigns(args) -> int:
    import datetime as dt
    from bot import campaigns as cp
    from bot.app import Service
    from bot.db import utcnow
    from handlers.campaigns import list_text, preview_text
    cfg = _config(args.config)
    service = _service_or_exit(lambda: Service(cfg))
    svc = service.ctx
    now = utcnow()
    if args.action == "list":
        print(list_text(svc, now))
        return 0
    if args.action == "log":
        lines = cp.delivery_log(svc, now - dt.timedelta(days=args.days), args.group)
        print("日期\t群\t计划\t已发\t失败\t待发\t其他\t原因")
        for ln in lines:
            other = "，".join(f"{k}{v}" for k, v in ln.other.items())
            print(f"{ln.day}\t{ln.group_id}\t{ln.scheduled}\t{ln.sent}\t{ln.failed}\t{ln.pending}\t{other}\t"
                  f"{'；'.join(ln.reasons)}")
        return 0
    campaign = cfg.campaign(args.name or "")
    if campaign is None:
        print(f"campaigns: unknown campaign {args.name!r}; configured: {', '.join(c.name for c in cfg.campaigns)}",
              file=sys.stderr)
        return 1
    if args.action == "preview":
        print(preview_text(svc, campaign, now))
        return 0
    from bot.stats import priority_weights
    result = cp.run_slot(svc, campaign, now.replace(second=0, microsecond=0), now,
                         weights=priority_weights(svc.sessions, cfg, now)[0])
    print(f"{campaign.name}: {result.summary()}")
    service.sender.drain(timeout=30)
    return 0


def _parse_day(text: str):
    import datetime as dt
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD")


def cmd_cases(args) -> int:
    import datetime as dt
    from zoneinfo import ZoneInfo
    from bot import cases
    from bot.db import make_engine, session_factory, ensure_schema
    cfg = _config(args.config)
    engine = make_engine(cfg.database.url, Path(cfg.source).parent)
    _service_or_exit(lambda: ensure_schema(engine))
    sessions = session_factory(engine)
    tz = ZoneInfo(cfg.timezone)
    if args.action == "import":
        if not args.arg:
            print("cases import: name the file (CSV or XLSX)", file=sys.stderr)
            return 2
        try:
            res = cases.import_file(sessions, cfg, args.arg[0], skip_bad=args.skip_bad)
        except cases.ImportFailed as e:
            print(f"导入失败，未写入任何数据：{e}", file=sys.stderr)
            return 1
        for err in res.errors[:args.max_errors]:
            print(err, file=sys.stderr)
        if len(res.errors) > args.max_errors:
            print(f"……另有 {len(res.errors) - args.max_errors} 处错误", file=sys.stderr)
        print(res.summary())
        if res.errors and not args.skip_bad:
            print("有错误，未写入任何数据；改正后重新导入，或加 --skip-bad 只导入正确的行。", file=sys.stderr)
            return 1
        return 0
    if args.action == "demo-data":
        end = args.end or dt.datetime.now(tz).date()
        if args.csv:
            rows = cases.demo_cases(cfg, count=args.count, seed=args.seed, end=end, years=args.years)
            cases.write_csv(rows, args.csv, cfg)
            print(f"{len(rows)} demo cases written to {args.csv}")
        else:
            n = cases.load_demo(sessions, cfg, count=args.count, seed=args.seed, end=end, years=args.years)
            print(f"{n} demo cases ({args.years} years up to {end}, seed {args.seed}) in the database")
        return 0
    if args.action == "followup":
        # cases followup CASE_NO [note …] --by NAME: add one; without a note: list them
        if not args.arg:
            print("cases followup: name the case number", file=sys.stderr)
            return 2
        case_no, note = args.arg[0], " ".join(args.arg[1:]).strip()
        try:
            if note:
                at = dt.datetime.combine(args.date, dt.time(12), tz) if args.date else None
                cases.add_follow_up(sessions, case_no, by=args.by or os.environ.get("USER", "cli"), note=note,
                                    method=args.method, at=at)
                print(f"{case_no}: 回访已记录")
            c, items = cases.follow_ups(sessions, case_no)
        except cases.CaseError as e:
            print(str(e), file=sys.stderr)
            return 1
        print(f"{c.case_no} {c.occurred_at.astimezone(tz):%Y-%m-%d} {c.township} {cases.type_name(c.fraud_type, cfg)} "
              f"损失 {c.loss_fen / 100:.2f} 元：回访 {len(items)} 次")
        for f in items:
            print(f"{f.at.astimezone(tz):%Y-%m-%d %H:%M}\t{f.method}\t{f.by}\t{f.note}")
        return 0
    if args.action == "pledge":
        # cases pledge UNIT HOUSEHOLDS [note …]
        units = {u.id for u in cfg.units}
        if len(args.arg) < 2 or args.arg[0] not in units or not args.arg[1].isdigit():
            print(f"cases pledge UNIT HOUSEHOLDS [note]; units: {', '.join(sorted(units))}", file=sys.stderr)
            return 2
        cases.record_pledge(sessions, unit=args.arg[0], households=int(args.arg[1]), note=" ".join(args.arg[2:]),
                            by=args.by or os.environ.get("USER", "cli"))
        print(f"{cfg.unit_name(args.arg[0])}: 承诺书 {args.arg[1]} 户已登记")
        return 0
    return 2


def cmd_report(args) -> int:
    import datetime as dt
    from zoneinfo import ZoneInfo
    from bot.db import make_engine, session_factory, ensure_schema, utcnow
    from bot.reports import FontMissing, Report
    cfg = _config(args.config)
    engine = make_engine(cfg.database.url, Path(cfg.source).parent)
    _service_or_exit(lambda: ensure_schema(engine))
    sessions = session_factory(engine)
    if args.date:
        # the week / month that contains this date (complete)
        nxt = args.date + dt.timedelta(days=7 - args.date.weekday()) if args.kind == "weekly" else \
            (args.date.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        now = dt.datetime.combine(nxt, dt.time(0, 1), ZoneInfo(cfg.timezone)).astimezone(dt.timezone.utc)
    else:
        now = utcnow()
    rep = Report(sessions, cfg, args.kind, now, complete=True)
    print(rep.markdown())
    if args.xlsx:
        Path(args.xlsx).parent.mkdir(parents=True, exist_ok=True)
        Path(args.xlsx).write_bytes(rep.workbook())
        print(f"workbook: {args.xlsx}")
    if args.png:
        try:
            charts = rep.charts()
        except FontMissing as e:
            print(f"charts: {e}", file=sys.stderr)
            return 1
        out = Path(args.png)
        out.mkdir(parents=True, exist_ok=True)
        for name, data in charts.items():
            (out / name).write_bytes(data)
            print(f"chart: {out / name}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bot", description="反诈哨兵 anti-fraud bot for WeCom and WeChat")
    sub = p.add_subparsers(dest="command", required=True)

    def with_config(sp):
        sp.add_argument("--config", default=DEFAULT_CONFIG, help="config file (default: config.yaml or $FANZHA_CONFIG)")
        return sp

    sp = sub.add_parser("check-config", help="validate a config file")
    sp.add_argument("path", nargs="?", default=DEFAULT_CONFIG)
    sp.set_defaults(fn=cmd_check_config)

    sp = with_config(sub.add_parser("db", help="database migrations"))
    sp.add_argument("action", choices=["upgrade", "current"])
    sp.set_defaults(fn=cmd_db)

    sp = with_config(sub.add_parser("serve", help="run the bot's HTTP service"))
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=8000)
    sp.add_argument("--no-sender", action="store_true",
                    help="leave the outbox and the scheduler to `python -m bot worker`")
    sp.set_defaults(fn=cmd_serve)

    sp = with_config(sub.add_parser("worker", help="run the outbox sender and the scheduler"))
    sp.set_defaults(fn=cmd_worker)

    sp = with_config(sub.add_parser("simulator", help="run the local WeCom simulator"))
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=8001)
    sp.add_argument("--bot-url", default="http://127.0.0.1:8000")
    sp.set_defaults(fn=cmd_simulator)

    sp = with_config(sub.add_parser("demo", help="bot + WeCom simulator on SQLite, nothing else to set up"))
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=8000)
    sp.add_argument("--sim-port", type=int, default=8001)
    sp.set_defaults(fn=cmd_demo)

    sp = with_config(sub.add_parser("outbox", help="inspect or requeue outbound messages"))
    sp.add_argument("action", choices=["list", "retry-dead"])
    sp.add_argument("--state")
    sp.add_argument("--limit", type=int, default=50)
    sp.set_defaults(fn=cmd_outbox)

    sp = with_config(sub.add_parser("campaigns", help="scheduled rebroadcast campaigns"))
    sp.add_argument("action", choices=["list", "preview", "run-now", "log"])
    sp.add_argument("name", nargs="?")
    sp.add_argument("--group")
    sp.add_argument("--days", type=int, default=7)
    sp.set_defaults(fn=cmd_campaigns)

    sp = with_config(sub.add_parser("cases", help="fraud cases: import, demo data, follow-ups (回访), pledges"))
    sp.add_argument("action", choices=["import", "demo-data", "followup", "pledge"])
    sp.add_argument("arg", nargs="*", help="import: FILE; followup: CASE_NO [note]; pledge: UNIT HOUSEHOLDS [note]")
    sp.add_argument("--skip-bad", action="store_true", help="import the good rows, report the bad ones")
    sp.add_argument("--max-errors", type=int, default=200, help="errors printed at most")
    sp.add_argument("--count", type=int, default=2400, help="demo-data: number of cases")
    sp.add_argument("--seed", type=int, default=7)
    sp.add_argument("--years", type=int, default=2)
    sp.add_argument("--end", type=_parse_day, help="demo-data: last day (default today)")
    sp.add_argument("--csv", help="demo-data: write a case file instead of the database")
    sp.add_argument("--by", help="followup/pledge: who")
    sp.add_argument("--method", default="电话", help="followup: 电话, 走访, …")
    sp.add_argument("--date", type=_parse_day, help="followup: when (default now)")
    sp.set_defaults(fn=cmd_cases)

    sp = with_config(sub.add_parser("report", help="weekly or monthly report: summary, workbook, charts"))
    sp.add_argument("kind", choices=["weekly", "monthly"])
    sp.add_argument("--xlsx", help="write the workbook here")
    sp.add_argument("--png", help="write the charts into this folder")
    sp.add_argument("--date", type=_parse_day, help="the week / month containing this date (default: the last full one)")
    sp.set_defaults(fn=cmd_report)

    # listed for --help; main() hands them to content.cli before argparse sees their options
    sub.add_parser("check-content", help="validate the content library")
    sub.add_parser("ask", help='answer a resident\'s message: ask "文本" | ask --jsonl < lines | ask --image FILE')
    sub.add_parser("eval", help="accuracy of the matcher on a labelled JSONL file")
    sub.add_parser("train", help="learn the word weights from content/examples/ (--cv: held-out accuracy)")
    return p


CONTENT_COMMANDS = {"check-content": "cmd_check_content", "ask": "cmd_ask", "eval": "cmd_eval",
                    "train": "cmd_train"}


def cmd_ask_image(argv: list[str]) -> int:
    """ask --image FILE [--content DIR] ["words sent with it"]: read a picture as the bot does and print
    one JSON line, the fields of `ask --jsonl` (intent, score, candidates, evidence, reply) and
    ocr_text, qr, seconds. A picture the bot would refuse prints the refusal and exits 1."""
    import json

    from bot.config import PicturesConfig
    from bot.pictures import Reader, Refused
    from content import cli as content_cli
    from content.matcher import Matcher
    from handlers.picture import REFUSED, answer
    path, argv = content_cli._take_option(argv, "--image")
    content_dir, argv = content_cli._take_option(argv, "--content")
    markdown = "--markdown" in argv
    words = " ".join(a for a in argv if a != "--markdown")
    if not path:
        print('usage: ask --image FILE [--markdown] ["随图发的文字"]')
        return 2
    lib = content_cli._load(content_dir)
    if lib is None:
        return 1
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        print(f"{path}: {e.strerror}", file=sys.stderr)
        return 1
    try:
        reading = Reader.from_config(PicturesConfig()).read(data)
    except Refused as e:
        print(json.dumps({"refused": e.code, "reason": str(e), "reply": REFUSED.get(e.code, "")}, ensure_ascii=False))
        return 1
    reply, match = answer(words, [reading], lib, Matcher(lib))
    m = match.as_dict() if match else {"intent": "none", "score": 0.0, "candidates": [], "evidence": []}
    print(json.dumps({"intent": reply.intent, "score": m["score"], "candidates": m["candidates"],
                      "evidence": m["evidence"], "reply": reply.rich if markdown else reply.text,
                      "ocr_text": reading.text, "ocr_lines": list(reading.lines), "qr": list(reading.qr),
                      "cut": reading.cut, "seconds": reading.seconds}, ensure_ascii=False))
    return 0


def main(argv=None) -> int:
    from bot.privacy import setup_logging
    setup_logging(os.environ.get("LOG_LEVEL", "INFO"))
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["ask"] and "--image" in argv:
        return cmd_ask_image(argv[1:])
    if argv and argv[0] in CONTENT_COMMANDS:
        # these take their own options (ask --jsonl, eval --errors …): hand them over untouched
        from content import cli as content_cli
        return getattr(content_cli, CONTENT_COMMANDS[argv[0]])(argv[1:])
    args = build_parser().parse_args(argv)
    return args.fn(args) or 0
