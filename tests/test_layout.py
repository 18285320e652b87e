"""The shape of the code, kept by tests: one direction of dependency, no channel branching outside
the channel adapters, no project import hidden in a function."""
from __future__ import annotations

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers", "scheduler", "content")
# the composition root and the command line assemble everything; the simulator plays WeCom
ENTRY_POINTS = {"bot/app.py", "bot/cli.py", "bot/wsgi.py", "bot/__main__.py"}
# per-command imports keep `python -m bot check-config` free of jieba and matplotlib
LAZY_ALLOWED = {"bot/cli.py"}


@functools.lru_cache(maxsize=None)
def _parsed(root: str) -> tuple:
    out = []
    for p in sorted((ROOT / root).rglob("*.py")):
        rel = p.relative_to(ROOT).as_posix()
        if "/migrations/" in rel or rel.startswith("bot/simulator/"):
            continue
        out.append((rel, ast.parse(p.read_text(encoding="utf-8"), rel)))
    return tuple(out)


def modules(*roots: str):
    for root in roots:
        yield from _parsed(root)


def imported(tree: ast.AST, rel: str) -> list[tuple[str, ast.AST]]:
    """(top-level package, node) of every project import, relative ones resolved."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name.split(".")[0], node) for a in node.names if a.name.split(".")[0] in PACKAGES]
        elif isinstance(node, ast.ImportFrom):
            top = rel.split("/")[0] if node.level else (node.module or "").split(".")[0]
            if top in PACKAGES:
                out.append((top, node))
    return out


def under_type_checking(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            ids |= {id(n) for n in ast.walk(node)}
    return ids


def test_the_core_and_the_domain_never_import_the_features():
    bad = [f"{rel}:{node.lineno} imports {top}" for rel, tree in modules("bot") if rel not in ENTRY_POINTS
           for top, node in imported(tree, rel) if top in ("handlers", "scheduler")]
    assert bad == []


def test_handlers_and_jobs_do_not_import_each_other_and_content_imports_no_service_code():
    bad = []
    for rel, tree in modules("handlers", "scheduler", "content"):
        forbidden = {"handlers": {"scheduler"}, "scheduler": {"handlers"},
                     "content": {"bot", "handlers", "scheduler"}}[rel.split("/")[0]]
        bad += [f"{rel}:{node.lineno} imports {top}" for top, node in imported(tree, rel) if top in forbidden]
    assert bad == []


def test_no_project_import_is_hidden_in_a_function():
    bad = []
    for rel, tree in modules(*PACKAGES):
        if rel in LAZY_ALLOWED:
            continue
        hidden = under_type_checking(tree)
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                bad += [f"{rel}:{node.lineno}" for _top, node in imported(fn, rel) if id(node) not in hidden]
    assert bad == []


def test_nothing_outside_the_adapters_branches_on_a_channel():
    """A comparison of a `.channel` with a name, or of a group's `send.via`, belongs in bot/channels."""
    bad = []
    for rel, tree in modules(*PACKAGES):
        if rel.startswith("bot/channels/") or rel == "bot/config.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare):
                sides = [node.left, *node.comparators]
                names = {s.attr for s in sides if isinstance(s, ast.Attribute)}
                consts = [s for s in sides if isinstance(s, (ast.Constant, ast.Tuple, ast.List, ast.Set))]
                if names & {"channel", "via"} and consts:
                    bad.append(f"{rel}:{node.lineno}: {ast.unparse(node)}")
    assert bad == []
