"""Where the content lives and how its files are read: paths, the YAML reader, the error type.

Every content module builds on this one; it imports no other content module.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml

try:  # the C loader is several times faster; fall back when libyaml is absent
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_DIR = PACKAGE_DIR / "scenarios"
LEXICON_PATH = PACKAGE_DIR / "lexicon.yaml"
NONE = "none"
# jieba's dictionary is cut to words at least this frequent (the matcher's tokenizer; the weights'
# fingerprint records it, since a different cut means different words)
JIEBA_MIN_FREQ = 30


class ContentError(Exception):
    """The library (or lexicon) is invalid. ``errors`` lists ``file: field: reason`` lines."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        super().__init__("content library invalid:\n" + "\n".join(self.errors))


def read_yaml(path: Path, errors: list[str]):
    """The parsed file, or None with `file: field: reason` added to errors."""
    try:
        with path.open("r", encoding="utf-8") as fh:
            return yaml.load(fh, Loader=_Loader)
    except UnicodeDecodeError as exc:
        errors.append(f"{path.name}: file: not UTF-8 ({exc.reason})")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        errors.append(f"{path.name}: file: YAML syntax error{where}: {problem}")
    except OSError as exc:
        errors.append(f"{path.name}: file: cannot read ({exc.strerror})")
    return None


def atomic_write(path, write, binary: bool = False) -> None:
    """Write `path` through `write(file)` into a temporary file beside it, synced, then renamed over it:
    a reader sees the old file or the new one, never half of either."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    try:
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8")) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
