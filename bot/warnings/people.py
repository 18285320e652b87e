"""Who a warning concerns: the station it is routed to, its liaisons and chief, the centre, and
who may act on it."""
from __future__ import annotations

from typing import Optional

from bot.config import Config, StationConfig

CENTRE_NAME = "反诈中心"


def route(config: Config, place: str, extra: str = "") -> Optional[StationConfig]:
    """The station whose jurisdiction keyword (or name) matches the place best: the longest
    keyword wins, then the earliest in the text. None: no station matches (→ the duty officer)."""
    for text in (place, extra):
        if not text:
            continue
        best, score = None, None
        for s in config.stations:
            for k in [s.name, s.name.replace("派出所", "")] + list(s.keywords):
                pos = text.find(k) if k else -1
                if pos >= 0:
                    sc = (len(k), -pos)
                    if score is None or sc > score:
                        best, score = s, sc
        if best is not None:
            return best
    return None


def find_station(config: Config, text: str) -> tuple[bool, Optional[str]]:
    """'#转派 … 河口派出所' → (True, 'hekou'); the centre → (True, None); unknown → (False, None)."""
    t = (text or "").strip()
    if t in (CENTRE_NAME, "中心", "反诈中心值班", "值班员"):
        return True, None
    for s in config.stations:
        if t in (s.id, s.name, s.name.replace("派出所", "")) or (len(t) >= 2 and t in s.keywords):
            return True, s.id
    return False, None


def linkage_group(config: Config) -> str:
    return config.groups_of_kind("linkage")[0].id


def person_name(config: Config, userid: Optional[str]) -> str:
    if not userid:
        return "-"
    if userid == "api":
        return "反诈中心系统"
    if userid == "system":
        return "系统"
    p = config.person(userid)
    return p.name if p else userid


def station_name(config: Config, station_id: Optional[str]) -> str:
    s = config.station(station_id) if station_id else None
    return s.name if s else CENTRE_NAME


def liaisons_of(config: Config, w) -> list[str]:
    s = config.station(w.station_id) if w.station_id else None
    if s:
        return list(s.liaisons)
    return [config.warnings.duty_officer] if config.warnings.duty_officer else []


def chief_of(config: Config, w) -> list[str]:
    s = config.station(w.station_id) if w.station_id else None
    return [s.chief] if s else []


def audience(config: Config, w, who: list[str]) -> list[str]:
    """The userids of an escalation step's roles: liaisons, chief, command_centre."""
    out: list[str] = []
    for role in who:
        out += {"liaisons": liaisons_of, "chief": chief_of}[role](config, w) if role != "command_centre" \
            else list(config.warnings.command_centre)
    return list(dict.fromkeys(out))


def is_centre(config: Config, userid: str) -> bool:
    """A member of the anti-fraud centre or the 110 command centre: police (or admin) with no station."""
    p = config.person(userid)
    return bool(p and p.station is None and {"police", "admin"} & set(p.roles))


def may_act(config: Config, w, userid: str) -> bool:
    """Only the assigned station (liaisons, chief, its officers) or the centre may sign and report."""
    if is_centre(config, userid):
        return True
    p = config.person(userid)
    return bool(p and w.station_id and p.station == w.station_id)
