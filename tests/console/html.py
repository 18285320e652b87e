"""Reading the console's pages in server-side tests: a table's rows as text, an element's text by id."""
from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser


class _Tables(HTMLParser):
    def __init__(self, wanted: str):
        super().__init__()
        self.wanted, self.depth, self.rows, self.row, self.cell = wanted, 0, [], None, None
        self.attrs: list[dict] = []
        self.kinds: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            if self.depth or a.get("id") == self.wanted:
                self.depth += 1
        if not self.depth:
            return
        if tag == "tr":
            self.row = []
            self.attrs.append(a)
            self.kinds.append("th")
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []
            if tag == "td":
                self.kinds[-1] = "td"

    def handle_endtag(self, tag):
        if not self.depth:
            return
        if tag in ("td", "th") and self.cell is not None:
            self.row.append(re.sub(r"\s+", " ", "".join(self.cell)).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.rows.append(self.row)
            self.row = None
        elif tag == "table":
            self.depth -= 1

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def table(html: str, table_id: str) -> list[list[str]]:
    """The body rows of the table with this id (rows of <td>), each a list of its cells' text."""
    p = _Tables(table_id)
    p.feed(html)
    return [r for r, kind in zip(p.rows, p.kinds) if kind == "td"]


def rows_by(html: str, table_id: str, attr: str) -> dict[str, list[str]]:
    """The table's rows keyed by an attribute of the <tr> (data-key, data-case …)."""
    p = _Tables(table_id)
    p.feed(html)
    return {a[attr]: r for r, a in zip(p.rows, p.attrs) if attr in a}


def rows_with(html: str, table_id: str, attr: str) -> list[tuple[str, list[str]]]:
    """(the attribute of the <tr>, its cells) of every row of the table that has the attribute, in order."""
    p = _Tables(table_id)
    p.feed(html)
    return [(a[attr], r) for r, a in zip(p.rows, p.attrs) if attr in a]


def text_of(html: str, element_id: str) -> str:
    """The text inside the element with this id (up to the first closing tag of its kind: no nesting of
    the same tag inside it)."""
    m = re.search(r'<(\w+)[^>]*\sid="%s"[^>]*>(.*?)</\1>' % re.escape(element_id), html, re.S)
    assert m, f"no element #{element_id}"
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", m.group(2)))).strip()
