"""Tables whose unit and scale live in a caption, a column header or the row label.

Private helper of ``figures``. Statistics tables write bare numbers in their cells and say once what they
are: "(Unit: TEU '000)", "（单位：亿元，%）", "Value (US$ bn)", "Change (%)", "Imports (HK$ mn)". A
bare-number cell under such a statement is a figure carrying that unit and scaled by it; the row label is its
subject and the column header (a year, a period) its period. A cell with no stated unit is left to the
sentence reader, which never makes it a count of the row label's last noun unless that noun is what the row
counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from . import _words as w
from ._keys import Quantity
from ._names import canonical_en, en_count_unit

# fmt: off
_CELL = re.compile(
    r"^\s*(?P<q>(?i:about|around|approximately|nearly|almost|some|over|more\s+than|under|less\s+than)"
    r"|约|近|逾|超过|不足|不到|低于)?\s*"
    r"(?P<n>[-−]?(?:\d{1,3}(?P<sep>[" + w.GROUP_SEPARATORS + r"])\d{3}(?:(?P=sep)\d{3})*|\d+)(?:\.\d+)?)"
    r"(?P<zs>万亿|亿|万)?(?:(?P<more>多|余)|(?P<least>以上)|(?P<about>左右))?\s*$"
)
# a rate or share column: "同比增长", "按年实质变动", "Change (%)", "占比"; a rate of change only by _GROWTH
_PCT = re.compile(
    r"%|(?i:per\s*cent|percent|growth|change|y-o-y|yoy|\bshare\b)|增长|增速|同比|占比|比重|增幅|增减|变动|变化|变幅|升幅|跌幅|降幅"
)
_GROWTH = re.compile(r"(?i:growth|change|y-o-y|yoy)|增长|增速|同比|增幅|增减|变动|变化|变幅|升幅|跌幅|降幅")
_CAPTION = re.compile(
    r"(?i:\bunits?\b|\bin\s+(?:thousands|millions|billions)\b|^\s*number\s+of\s)|单位|\((?:[^()]*)\)|（[^（）]*）"
    r"|^\s*Table\s+\d+"
)
_TABLE_TITLE = re.compile(
    r"\s*Table\s+\d+\s*[–—:.-]?\s*(?P<np>(?:[A-Za-z][\w-]*\s+){0,3}?[A-Za-z][\w-]*)\s+"
    r"(?:by|in|of|at|for|under|,)\b"
)
_CAPTION_BRACKET = re.compile(r"\([^()]*\)|（[^（）]*）")
_CAPTION_STATED = re.compile(
    r"(?:单位|(?i:\bunits?))\s*[:：]?.*$|(?i:\bin\s+(?:thousands|millions|billions)\b)"
)
_COUNT_TITLE = re.compile(r"(?i:\s*(?:number|no\.)\s+of\s)")
# A line of prose, not a caption: a list item or a line ending as a sentence does
_PROSE = re.compile(r"^\s*(?:\([a-z0-9]{1,3}\)|（[一二三四五六七八九十]+）)|[.;。；]\s*$")
# a header that is a measure word, or ends in a trip count ("日均人次"; not "车辆", which is a noun)
_MEASURE_HEADER = re.compile(r"[\u4e00-\u9fff]{0,4}?(?P<m>人次|辆次|车次|架次|艘次)")
_UNIT_HEADER = re.compile(r"\s*(?:单位|(?i:units?))\s*")
_APPROX = re.compile(r"(?i:\bapproximate(?:ly)?\b|\brounded\b)|约数|概数")
_CURRENCY = re.compile(
    r"US\$|HK\$|MOP\$?|RMB|CNY|USD|HKD|MOP|(?i:\byuan\b|\bpatacas?\b|\bhk\s+dollars\b|\bus\s+dollars\b)"
    r"|澳门元|港元|美元|人民币|元|(?<![A-Za-z])\$"
)
_CURRENCY_CODE = {
    "US$": "USD", "HK$": "HKD", "MOP$": "MOP", "RMB": "CNY", **w.CURRENCY_WORDS,
    "澳门元": "MOP", "港元": "HKD", "美元": "USD", "人民币": "CNY", "元": "CNY", "$": "USD",
}
_SCALE = re.compile(
    r"(?i:\b(?P<en>thousands?|millions?|billions?|trillions?|bn|mn)\b"
    # a lone b, m or k only after a currency ("(US$ b)", "RMB m"): "Category B" is a name
    r"|(?:(?<=\$)|(?<=\$\s)|(?<=RMB)|(?<=RMB\s)|(?<=MOP\s)|(?<=HKD\s)|(?<=USD\s))(?P<en1>b|m|k)\b)"
    r"|(?P<k>'000|’000|000s)"
    r"|(?P<zh>万亿|[十百]亿|亿|[十百千]万|万|千)"  # the longest first: "百万元" is millions, not 万
)
_EN_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12, "bn": 1e9, "b": 1e9,
             "mn": 1e6, "m": 1e6, "k": 1e3}
_PERIOD = re.compile(
    r"(?:19|20)\d\d|Q[1-4]|H[12]|\d{1,2}月|[上下]半年|季度|全年|年度|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
)
# a column of levels under a caption of several units: a period, or a word for the amount itself
_LEVEL_HEADER = re.compile(
    _PERIOD.pattern
    + r"|额|总值|数值|绝对值|绝对数|本期|增加值|产值|收入|规模|量|人数|户数"
    + r"|(?i:value|amount|total|level|volume|number|throughput|spending|expenditure|revenue|turnover)"
)
# what a count column or row counts: "Number of travel bookings", "(persons)", "学生人数", "（个）",
# "单位：人次"
_COUNTED = re.compile(
    r"(?i:\b(?:number|no\.)\s+of\s+(?:[a-z][\w'’-]*\s+){0,3}?(?P<en>[a-z][\w'’-]*(?<!s)s|"
    + "|".join(sorted(w.NP_HEAD_IRREGULAR))
    + r")\b"
    r"|[(（]\s*(?P<paren>[a-z]+s)\s*[)）]|\bunits?\s*[:：]\s*(?P<per>[a-z]+s)\b)"
    r"|(?P<people>人数)|(?:[(（]|单位[：:]\s*)" + w.ZH_MEASURE.pattern + r"\s*(?:[)）]|$)"
)
_PERIOD_CELL = re.compile(r"(?:19|20)\d\d|Q[1-4]|H[12]|\d{1,2}(?:\s*[—–~-]\s*\d{1,2})?月")
# a row label that is only a period: "2019/20", "2023", "Q1 2024", "1-6月"
_PERIOD_LABEL = re.compile(
    r"\s*(?:(?:19|20)\d\d(?:/\d\d)?|Q[1-4]\s*(?:19|20)\d\d|\d{1,2}(?:\s*[—–~-]\s*\d{1,2})?月)[*#†‡]{0,2}\s*"
)
# a row that counts a place's people: "Population", "常住人口" (not its density or growth)
_POPULATION = re.compile(
    r"(?i:^(?:resident\s+|total\s+)?population\b(?!\s+(?:density|growth|share|ratio|rate)))|^(?:常住|户籍)?人口$"
)
# fmt: on


@dataclass(frozen=True, slots=True)
class Unit:
    """What a caption, header or label says a table's numbers are: kind, unit and scale."""

    kind: str
    unit: str
    scale: float = 1.0
    bare_yuan: bool = False  # money stated as 元 alone ("单位：亿元"): whose 元, the page says
    bare_dollar: bool = False  # "($ million)": HK dollars on a Hong Kong government page, else US dollars
    several: bool = False  # a level unit and a rate ("单位：亿元，%"): each column must say which it holds
    approx: bool = False  # "(RMB million, approximate figures)": every cell is about its number


@dataclass
class Table:
    """What the lines read so far say about the table being read: its caption's unit and its header rows."""

    caption: Unit | None = None
    headers: list[list[str]] = field(default_factory=list)
    rows: int = 0


def unit_of(text: str, *, pct: bool = True) -> Unit | None:
    """The unit a caption, header or label states ("(US$ bn)", "单位：亿元", "TEU '000"), or None."""
    if pct and _PCT.search(text) and not _CURRENCY.search(text):
        return Unit("pct", "%")
    scale = 1.0
    if s := _SCALE.search(text):
        if s.group("en") or s.group("en1"):
            scale = _EN_SCALE[(s.group("en") or s.group("en1")).lower().rstrip("s") or "m"]
        else:
            scale = 1e3 if s.group("k") else w.ZH_SCALES[s.group("zh")]
    named = list(_CURRENCY.finditer(text))
    # "亿元（澳门元）": the currency named outright, not the 元 of the scale word
    if c := next((m for m in named if m.group() != "元"), named[0] if named else None):
        word = c.group().lower() if c.group()[:1].isalpha() and c.group().isascii() else c.group()
        code = _CURRENCY_CODE.get(word, w.CURRENCY_PREFIX.get(c.group(), "CNY"))
        return Unit("money", code, scale, bare_yuan=c.group() == "元", bare_dollar=c.group() == "$")
    for pattern, unit in w.UNITS:
        if pattern.search(text):
            return Unit("physical", unit, scale)
    if c := _COUNTED.search(text):
        if noun := c.group("en") or c.group("paren") or c.group("per"):
            return Unit("count", canonical_en(noun).lower(), scale)
        return Unit("count", "people" if c.group("people") else w.ZH_MEASURE_UNIT.get(c["m"], c["m"]), scale)
    # a column headed "家" or "日均人次" counts them
    if measure := w.ZH_MEASURE.fullmatch(text.strip()) or _MEASURE_HEADER.fullmatch(text.strip()):
        return Unit("count", w.ZH_MEASURE_UNIT.get(measure["m"], measure["m"]), scale)
    return Unit("count", "", scale) if scale != 1.0 or re.search(r"(?i:\(number\))|数量", text) else None


def read_line(sentence: str, table: Table) -> list[tuple[Quantity, str | None, bool]] | None:
    """Updates ``table`` with a caption or header line; for a data row, its bare-number cells whose unit the
    table states, as (quantity, period, growth); None when the line is not a row of such a table."""
    if "\t" not in sentence:
        if table.rows:  # the table ended
            table.caption, table.headers, table.rows = None, [], 0
        captioned = len(sentence) < 160 and _CAPTION.search(sentence) and not _PROSE.search(sentence)
        if captioned and (unit := _caption_unit(sentence)):
            several = unit.kind != "pct" and bool(re.search(r"[,，、/]\s*%|%\s*[,，、/]", sentence))
            table.caption = replace(unit, several=several, approx=bool(_APPROX.search(sentence)))
        else:  # prose between a caption and the next table: "(a) ... income of $2.5 million or more;"
            table.caption = None
        return None
    cells = sentence.split("\t")
    found = [
        (i, c)
        for i, c in enumerate(cells[1:], 1)
        if (m := _CELL.match(c)) and not (_is_year(m) and not _PERIOD.search(_header(table, i, len(cells))))
    ]  # "2043" under a "上半年" header is an amount for that period, not a year
    if not found:
        if not any(re.search(r"\d", _PERIOD_CELL.sub("", c)) for c in cells[1:]):
            if table.rows:  # a header after data rows opens the next table
                table.caption, table.headers, table.rows = None, [], 0
            table.headers.append(cells)  # a header: no figures in its cells, only names and periods
        return None
    table.rows += 1
    label = cells[0].strip()
    paren = re.search(r"[(（]", label)
    row_unit = unit_of(label[paren.start() :], pct=True) if paren else None
    # a "Currency" column: "Northbound<TAB>yuan<TAB>136.3" under "Average daily turnover (billion)"
    named = next((u for c in cells[1:] if _CURRENCY.fullmatch(c.strip()) and (u := unit_of(c.strip()))), None)
    if row_unit is None and (stated := _unit_column(table, cells)):
        row_unit = stated  # a "单位" column: "技术合同成交额<TAB>亿元<TAB>820", "占GDP比例<TAB>%<TAB>13.67"
    if row_unit is None and _POPULATION.search(label):
        row_unit = Unit("count", "people")
    quantities = []
    offset = [0]
    for cell in cells:
        offset.append(offset[-1] + len(cell) + 1)
    for i, cell in found:
        header = _header(table, i, len(cells))
        unit = unit_of(header) or row_unit or _counted_column(header, table.caption) or table.caption
        caption = table.caption
        if unit and caption and unit is not caption and unit.kind == caption.kind and unit.scale == 1.0:
            # "单位：千人" above a "人数" column: thousands of people
            unit = replace(unit, scale=caption.scale)
        if unit is None or (unit is caption and unit.several and not _LEVEL_HEADER.search(header)):
            continue  # a caption of several units, and the column does not say it holds the level
        if named is not None and unit.kind == "count" and not unit.unit:
            unit = replace(named, scale=unit.scale)
        m = _CELL.match(cell)
        assert m is not None
        value = float(re.sub(r"[^\d.-]", "", m.group("n").replace("−", "-"))) * unit.scale
        if m.group("zs"):  # "约6.2亿" under "（单位：澳门元）": the cell writes its own scale
            value *= w.ZH_SCALES[m.group("zs")]
        q = Quantity(offset[i], offset[i] + len(cell), float(f"{value:.12g}"), unit.unit, unit.kind)
        period = None
        q.subject = re.sub(r"\s*[(（][^()（）]*[)）]|,\s*total$", "", label).strip() or label
        if _PERIOD_LABEL.fullmatch(label) and unit is not row_unit:
            # "2019/20<TAB>1 779": the row says when, the header what
            q.subject = re.sub(r"\s*[(（][^()（）]*[)）]", "", header).strip() or label
            period = label.rstrip("*#†‡ ")  # "2008/09*": the footnote mark is no part of the period
        q.unit = unit.unit if unit.kind != "count" else unit.unit or _count_unit(q.subject)
        q.bare_yuan, q.bare_dollar = unit.bare_yuan, unit.bare_dollar
        if m.group("q"):
            q.qualifier = _qualifier(m.group("q"))
        elif m.group("more"):
            q.qualifier = "more_than"  # "220多"
        elif m.group("least"):
            q.qualifier = "at_least"
        elif m.group("about") or (table.caption is not None and table.caption.approx):
            q.qualifier = "approx"
        if period is None:
            periods = [h[i - len(cells)] for h in table.headers if len(h) >= len(cells) - i]
            period = next((p.strip() for p in periods if _PERIOD.search(p)), None)
        quantities.append((q, period, unit.kind == "pct" and bool(_GROWTH.search(header))))
    return quantities


def _caption_unit(caption: str) -> Unit | None:
    """The unit a caption states: a currency, scale, physical unit or count, or a share in brackets
    ("Industrial structure (% of GDP)"); words such as "growth" in a caption's title make no unit. The unit
    is read where captions state it (in brackets, after 单位 or "Unit:", "in thousands", "Number of ..."),
    never from the title's words: "“百企千人”计划累计情况" holds 千 and is no scale."""
    stated = [m.group() for m in _CAPTION_BRACKET.finditer(caption)]
    stated += [m.group() for m in _CAPTION_STATED.finditer(caption)]
    if _COUNT_TITLE.match(caption):
        stated.append(caption)
    if stated and (unit := unit_of(" ".join(stated), pct=False)):
        return unit
    if re.search(r"[(（]\s*%", caption):
        return Unit("pct", "%")
    # "Table 1 – Visitor arrivals by place of residence": a "Number" column counts visitor arrivals
    title = _TABLE_TITLE.match(caption)
    counted = en_count_unit(title.group("np")) if title else None
    return Unit("count", counted) if counted else None


def _unit_column(table: Table, cells: list[str]) -> Unit | None:
    """The unit a row states in its table's "单位"/"Unit" column ("%", "家", "亿元"), or None."""
    header = next((h for h in reversed(table.headers) if len(h) == len(cells)), None)
    at = next((i for i, h in enumerate(header or ()) if _UNIT_HEADER.fullmatch(h)), None)
    if at is None or not (cell := cells[at].strip()):
        return None
    return unit_of(cell)


def _counted_column(header: str, caption: Unit | None) -> Unit | None:
    """A column naming the things it counts under a currency caption: "Approved applications" under
    "... by income in the previous year (HK$)" counts applications; the currency is the row labels'."""
    named = re.fullmatch(r"\s*(?:[A-Za-z][\w-]*\s*){1,4}", header)
    if caption is None or caption.kind != "money" or not named:
        return None
    words = header.lower().split()
    if words[-1] in w.MONEY_PLURALS:  # "Exports" under "(HK$ million)" are money
        return None
    counted = en_count_unit(header)
    return Unit("count", counted) if counted else None


def _header(table: Table, i: int, width: int) -> str:
    """The header text above column ``i`` of a row ``width`` cells wide (rows align at their right end)."""
    return " ".join(h[i - width] for h in table.headers if len(h) >= width - i)


def _is_year(m: re.Match[str]) -> bool:
    return bool(re.fullmatch(r"(?:19|20)\d\d", m.group("n"))) and not m.group("q")


def _count_unit(subject: str) -> str:
    """What a row label counts: its noun before any clause ("Hong Kong residents who moved to the
    Mainland" counts residents), else its last word."""
    head = re.split(
        r"(?i)\s+(?:who|which|that|with|in|on|to|from|of|for|by|under|at)\s", subject, maxsplit=1
    )[0]
    if counted := en_count_unit(head):
        return counted
    words = re.findall(r"[A-Za-z]+", subject)
    return words[-1].lower() if words else "units"


def _qualifier(word: str) -> str:
    m = w.QUALIFIER_BEFORE.search(word.strip())
    return m.lastgroup if m and m.lastgroup else "exact"
