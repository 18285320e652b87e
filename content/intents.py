"""The intents and their names, read from the scenario files: the one source for every list of
fraud types and every name of one (the Q&A, campaigns, case statistics, warnings).

Each scenario file content/scenarios/<id>.yaml declares `kind: fraud` or `kind: service`; a fraud
type also declares `case_name` (its name in the county's case statistics) and `case_words` (words
that name it in a case file's type column). Adding a fraud type is its YAML, its examples and a
retrain (`python -m bot train`). `load_library` validates the files fully; this module only reads
the few fields every part of the service needs, cheaply and once per folder version.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .files import DEFAULT_DIR, NONE, ContentError, read_yaml

ID = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
KINDS = ("fraud", "service")


@dataclass(frozen=True)
class IntentInfo:
    id: str
    kind: str
    name: str
    short: str
    case_name: str = ""
    case_words: tuple[str, ...] = ()


class Catalog:
    """The intents of one scenario folder, fraud types first (in id order), then service intents."""

    def __init__(self, infos: list[IntentInfo]):
        order = sorted(infos, key=lambda i: (KINDS.index(i.kind), i.id))
        self.by_id = {i.id: i for i in order}
        self.fraud = tuple(i.id for i in order if i.kind == "fraud")
        self.service = tuple(i.id for i in order if i.kind == "service")
        self.intents = self.fraud + self.service
        self.labels = self.intents + (NONE,)
        # case-file words, longest first: 校园贷 (zhengxin) before 贷款 (daikuan)
        self._words = sorted(((w, i.id) for i in order for w in i.case_words), key=lambda x: -len(x[0]))

    def case_name(self, intent: str) -> str:
        """The name in case statistics (虚假投资理财); an unknown id is shown as it is."""
        info = self.by_id.get(intent)
        return (info.case_name or info.name) if info else intent

    def case_type(self, label: str) -> Optional[str]:
        """The fraud type a case file names: an id, a case name, or a text containing a case word
        (the longest word wins, then the one that comes first in the text); None when unknown."""
        t = re.sub(r"\s+", "", str(label or ""))
        if not t:
            return None
        if t in self.fraud:
            return t
        for i in self.fraud:
            if t in (self.by_id[i].case_name, self.by_id[i].name, self.by_id[i].short):
                return i
        found = [(-len(w), t.find(w), intent) for w, intent in self._words if w in t]
        return min(found)[2] if found else None


_CACHE: dict = {}
_LOCK = threading.Lock()


def catalog(folder: Optional[str | Path] = None) -> Catalog:
    """The catalog of a scenario folder (default content/scenarios); ContentError names a file and
    field when a file cannot tell its id, kind or names."""
    directory = Path(folder) if folder else DEFAULT_DIR
    files = sorted(p for p in directory.glob("*.y*ml") if p.suffix in (".yaml", ".yml")) \
        if directory.is_dir() else []
    version = (str(directory.resolve()), tuple((p.name, p.stat().st_mtime_ns) for p in files))
    with _LOCK:
        if version in _CACHE:
            return _CACHE[version]
    errors: list[str] = []
    cat = read_catalog(directory, errors)
    if errors:
        raise ContentError(errors)
    with _LOCK:
        _CACHE.clear()
        _CACHE[version] = cat
    return cat


def read_catalog(folder: Path, errors: list[str]) -> Catalog:
    """The catalog of the readable files of a folder, every problem added to `errors`."""
    files = sorted(p for p in folder.glob("*.y*ml") if p.suffix in (".yaml", ".yml")) if folder.is_dir() else []
    if not files:
        errors.append(f"{folder}: file: no scenario files")
    return Catalog([info for p in files if (info := _read(p, errors)) is not None])


def _read(path: Path, errors: list[str]) -> Optional[IntentInfo]:
    fname = path.name
    if not ID.match(path.stem) or path.stem == NONE:
        errors.append(f"{fname}: file: {path.stem!r} cannot be an intent id (lower-case letters, digits, _; "
                      f"not {NONE!r})")
        return None
    data = read_yaml(path, errors)
    if not isinstance(data, dict):
        if data is not None:
            errors.append(f"{fname}: file: must be a mapping of fields")
        return None
    kind = data.get("kind")
    if kind not in KINDS:
        errors.append(f"{fname}: kind: must be one of {', '.join(KINDS)} (got {kind!r}); a new intent is a "
                      "scenario file that says whether it is a fraud type or a service")
        return None
    words = data.get("case_words") or []
    if kind == "fraud":
        if not isinstance(data.get("case_name"), str) or not data["case_name"].strip():
            errors.append(f"{fname}: case_name: a fraud type needs its name in the case statistics")
        if not isinstance(words, list) or not words or not all(isinstance(w, str) and w.strip() for w in words):
            errors.append(f"{fname}: case_words: a fraud type needs a list of words that name it in case files")
            words = []
    elif "case_name" in data or "case_words" in data:
        errors.append(f"{fname}: case_name: only a fraud type has case_name and case_words")
    return IntentInfo(id=path.stem, kind=kind, name=str(data.get("name") or ""), short=str(data.get("short") or ""),
                      case_name=str(data.get("case_name") or "").strip(),
                      case_words=tuple(w.strip() for w in words if isinstance(w, str)))
