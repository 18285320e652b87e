"""Warning dispatch (预警劝阻): parse, route, transitions, notifications, escalation, reports.

    parse.py       #预警 arguments and free text → Draft; numbers, phones, levels
    people.py      routing to a station; liaisons, chief, the centre; who may act
    models.py      Warning and WarningEvent; each transition checks the state and writes its event
    actions.py     create, sign, report, reassign, close: checks, transition, messages in one transaction
    notify.py      the posts, one-to-one messages and task cards, queued in the caller's transaction
    escalation.py  the steps from config, taken once each
    queries.py     history, open warnings, the daily summary
    texts.py       everything the workflow says in Chinese

Privacy: the linkage group sees the full phone number and name (the liaison must call); task
cards, other chats, logs and exports see 138****5678 and 张某.
"""
from bot.warnings.actions import (WarningError, close, create, create_with_retry, find, get_or_fail, reassign,
                                  report, sign)
from bot.warnings.escalation import due_steps, next_step, sweep
from bot.warnings.models import Warning, WarningEvent
from bot.warnings.parse import (LANDLINE, LEVELS, MOBILE, Draft, Problem, check_draft, match_type, normalize_number,
                                parse_warning)
from bot.warnings.people import CENTRE_NAME, find_station, liaisons_of, person_name, route, station_name
from bot.warnings.queries import open_list_text, query_text, send_daily_summary, summary
from bot.warnings.texts import (RESULT_NAMES, RESULTS, STATE_NAMES, export, level_text, parse_task_id,
                                type_name)

__all__ = ["CENTRE_NAME", "Draft", "Problem", "check_draft", "LANDLINE", "LEVELS", "MOBILE", "RESULTS", "RESULT_NAMES", "STATE_NAMES",
           "Warning", "WarningError", "WarningEvent", "close", "create", "create_with_retry", "due_steps",
           "export", "find", "find_station", "get_or_fail", "level_text", "liaisons_of", "match_type",
           "next_step", "normalize_number", "open_list_text", "parse_task_id", "parse_warning", "person_name", "query_text",
           "reassign", "report", "route", "send_daily_summary", "sign", "station_name", "summary", "sweep",
           "type_name"]
