"""The word tables ``figures`` reads: scales, currencies, units, qualifiers, places, masks, synonyms.

Data only (compiled regular expressions and dictionaries); the rules that use them live in ``figures``,
``figures._counts`` and ``figures._keys``.
Text reaching these patterns has been through ``FULLWIDTH`` (０-９ → 0-9 and friends), so digits are ASCII.
"""

from __future__ import annotations

import re
from typing import cast


class _Lazy:
    """A regular expression compiled when first used.

    ``gba-monitor extract`` is meant to start in under 0.4 s, and compiling every pattern of this module takes
    about 90 ms (large CJK ranges are compiled character by character), of which an English page uses about
    half. After the first use the compiled pattern's methods are this object's own attributes, so a call
    costs what a call on the pattern costs; ``pattern`` (the source) composes others without compiling.
    """

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern, self._flags = pattern, flags

    def __getattr__(self, name: str) -> object:
        compiled = re.compile(self.pattern, self._flags)
        for method in ("search", "match", "fullmatch", "finditer", "findall", "sub", "split", "groupindex"):
            setattr(self, method, getattr(compiled, method))
        return getattr(compiled, name)


def _compile(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return cast("re.Pattern[str]", _Lazy(pattern, flags))


# fmt: off

# Full-width digits and signs to ASCII, and the traditional characters these tables need to simplified ones:
# one character for one, so spans found in the normalized sentence index the sentence as written.
FULLWIDTH = str.maketrans(
    "０１２３４５６７８９．％＄＋－～：／"
    "萬億個項輛條臺筆戶隻張組處場間號時點週鐘歲約過餘長減幣門灣區廣東橫慶噸標準實現達總額進資業機構專員務際產註冊數與於為將從對讓計設參獲簽還較漲營銷貨價貿稅規華僑亞歐圓鎊鐵橋車輪遊訪學醫銀險證團隊創積畝頃櫃運輸郵電網碼鋪舖樓層屆來開關內發認環護費補貼兩雙幾廠莊鎮縣鄉歷齡頁報導據顯經陸當結動帶佔強劃農廳辦議僅單邊級試驗領碩師會築藥種類錄職畢織勢範應聯則飛別貸備",
    "0123456789.%$+-~:/"
    "万亿个项辆条台笔户只张组处场间号时点周钟岁约过余长减币门湾区广东横庆吨标准实现达总额进资业机构专员务际产注册数与于为将从对让计设参获签还较涨营销货价贸税规华侨亚欧圆镑铁桥车轮游访学医银险证团队创积亩顷柜运输邮电网码铺铺楼层届来开关内发认环护费补贴两双几厂庄镇县乡历龄页报导据显经陆当结动带占强划农厅办议仅单边级试验领硕师会筑药种类录职毕织势范应联则飞别贷备",
)

EN_SCALES = {
    "thousand": 1e3,
    "k": 1e3,
    "million": 1e6,
    "mn": 1e6,
    "mln": 1e6,
    "m": 1e6,
    "billion": 1e9,
    "bn": 1e9,
    "bln": 1e9,
    "trillion": 1e12,
    "tn": 1e12,
    "trn": 1e12,
}
ZH_SCALES = {
    "千": 1e3,
    "万": 1e4,
    "十万": 1e5,
    "百万": 1e6,
    "千万": 1e7,
    "亿": 1e8,
    "十亿": 1e9,
    "百亿": 1e10,
    "千亿": 1e11,
    "万亿": 1e12,
}
EN_WORD_NUMBERS = {
    "a": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "half a": 0.5,
}
ZH_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
ZH_PLACES_VALUE = {"十": 10, "百": 100, "千": 1000, "万": 10_000}  # 万 alone only after 过/超 ("过万亿元")

# Thousands grouped by a comma, a space (HKSAR Government and LegCo English: "20 000", "HK$3 364 840
# million"), a no-break, thin or narrow no-break space, an apostrophe, or the full-width comma written between
# full-width digits ("１０，５７７", read as a comma): one separator throughout, never a fragment.
GROUP_SEPARATORS = ",\u00a0\u2009\u202f '’"


def _grouped(sep: str) -> str:
    groups = rf"\d{{1,3}}(?P<{sep}>[{GROUP_SEPARATORS}])\d{{3}}(?:(?P={sep})\d{{3}})*"
    return groups + rf"(?:\.\d+)?(?!\d|(?P={sep})\d)"


# "１０，５７７家", and "3，000萬" as Hong Kong portals mix them: a full-width comma between digits groups
# thousands only before exactly three digits and a scale or a measure word ("3，5家" is a list)
FULLWIDTH_GROUP = _compile(
    r"(?<=[０-９])，(?=[０-９]{3}(?![０-９]))|(?<=[0-9])，(?=[0-9]{3}(?:[万萬亿億]|[人元家个個名宗间間]))"
)
# The figure must be the whole number as written: a separator or decimal point with a digit beyond it
# adjoining the number on either side makes what was read a fragment ("000" of "20 000").
# "0点5": 点 between digits is a decimal point, as "." is
FRAGMENT_LEFT = _compile(
    r"(?:(?P<glue>\d[,'’.，点]|[〇一二两三四五六七八九]点)|(?<![\d,.，])\d{1,3}[ \u00a0\u2009\u202f])$"
)
FRAGMENT_RIGHT = _compile(r"[,'’.，点]\d|[ \u00a0\u2009\u202f]\d{3}(?!\d)")

_WORDS = "|".join(sorted((re.escape(w) for w in EN_WORD_NUMBERS), key=len, reverse=True))
# Institutions and facilities that a scheme adds or a zone hosts. News writes their counts in words below ten
# ("Seven medical institutions", "five new general hospitals") and such a count is a figure, where "two
# sides", "three pillars" or "four cities" are not.
INSTITUTIONS = frozenset([
    "institutions", "hospitals", "clinics", "laboratories", "labs", "universities", "banks", "insurers",
    "stations", "checkpoints", "ports", "airports",
])  # fmt: skip
_INSTITUTIONS_AHEAD = r"\s+(?:[A-Za-z][\w'’-]*\s+){0,3}(?i:" + "|".join(sorted(INSTITUTIONS)) + r")\b"
# A determiner makes a count in words one said before ("the two hospitals", "its five stations")
DETERMINED = _compile(r"(?i:\b(?:the|its|their|these|those|other|all|every|first|last|our)\s+)$")

# A number, with the currency sign that may stand before it. Not glued to a word (G20, A380), not the tail
# of a name (COVID-19), not the second half of a decimal or a masked span.
NUMBER = _compile(
    r"(?<![A-Za-z0-9_.\x00])(?<![A-Za-z]-)"
    r"(?:(?P<cur>US\s?\$|HK\s?\$|MOP\s?\$?|NT\$|A\$|S\$|C\$|RMB|CNY|USD|HKD|EUR|GBP|JPY|€|£|¥|￥|\$|人民币|港币|澳门币)\s?)?"
    r"(?P<neg>(?<![A-Za-z0-9_\x00])-(?=\d))?"  # "至-678.73亿元": a sign after a Chinese word too
    r"(?:(?<![\d.一二两三四五六七八九十百千万亿A-Za-z])(?P<tenths>[一二两三四五六七八九]|\d)成"
    r"(?![不功立交本果员就型长绩都市熟])(?<![一二两三四五六七八九]成(?=为))(?P<tenths2>[一二三四五六七八九]|\d(?![\d.])|半)?"
    r"|(?<=[逾过近超])(?P<half>半)(?=[数受企港的，,。（(])"
    r"|(?P<num>" + _grouped("sep") + r"|\d+(?:\.\d+)?)"
    r"|(?P<word>(?i:" + _WORDS + r")(?:\s+(?i:hundred))?)(?=\s+(?i:thousand|million|billion|trillion)\b"
    # "about one square kilometre", "a five-square-kilometre site": a land area or length in words
    r"|[\s-]+(?i:square[\s-]+(?:kilomet|met|mile)|hectares?\b|kilomet(?:er|re)s?\b)"
    # "three times the area of Macau", "grew by around three times": a multiple (its context decides)
    r"|\s+(?i:times)\b"
    # "five pilot medical institutions" (not after "a" or "one", which are tried before every "a")
    r"|(?<!\b[Aa])(?<!\b[Oo]ne)" + _INSTITUTIONS_AHEAD + r")"
    # "逾百家", "过万亿元": a bare place value after "more than"; "超万亿元的城市", "破千万的纪录": thresholds
    # "七点四亿元" is 7.4亿, never 四亿 after a stray 七点
    r"|(?<![数几上成点])(?P<zh>[一二两三四五六七八九十][零〇一二两三四五六七八九十百千]*(?:点[零〇一二两三四五六七八九]+)?"
    r"|(?<=[逾近超过破约])[百千万](?![万亿元人次家个名项辆]{0,3}的))"
    r"(?=[多余]?[万亿]|[多余]?(?:[家名个位项所座倍]|[人辆车架艘]次|人))"
    r"|百分之(?P<zhpct>\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百点]+)"
    r")"
)
# A share in words: "half of the firms", "two-thirds of its output", "three in four companies" (as %); never
# a period ("the first half of 2024", "half of the year")
_FRACTIONS = {
    "half": 50.0, "a third": 100 / 3, "one third": 100 / 3, "two thirds": 200 / 3, "a quarter": 25.0,
    "one quarter": 25.0, "three quarters": 75.0, "a fifth": 20.0, "one fifth": 20.0, "two fifths": 40.0,
    "three fifths": 60.0, "four fifths": 80.0, "a tenth": 10.0, "one tenth": 10.0, "a fourth": 25.0,
    "one fourth": 25.0, "three fourths": 75.0,
}  # fmt: skip
FRACTION_OF = _FRACTIONS
# 三分之一 (one in three), 4分之3: a share, as %; 百分之 is read as a percentage by NUMBER
ZH_FRACTION = _compile(
    r"(?<![百千万\d])(?P<den>[二三四五六七八九十]|\d{1,2})分之(?P<num>[一二三四五六七八九]|\d{1,2})(?![\d十百])"
    # "比重超1/4": a slash fraction after a word of share or size (a bare "1/4" may be a date)
    r"|(?<=[超近约逾占的过达])(?P<num2>[1-9])/(?P<den2>[2-9]|1\d)(?![\d/.])"
)
SMALL_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10,
}  # fmt: skip
FRACTION = _compile(
    r"(?i:(?<!first\s)(?<!second\s)(?<!latter\s)(?<!the\s)\b(?P<frac>half|(?:a|one|two|three|four)[\s-]"
    r"(?:thirds?|quarters?|fourths?|fifths?|tenths?))\s+of\s+"
    r"(?!(?:the\s+|an?\s+)?(?:year|month|week|day|hour|minute|decade|century|period|mile|20\d\d)\b)"
    r"|\b(?P<num>one|two|three|four|five|six|seven|eight|nine)\s+(?:in(?:\s+every)?|out\s+of)\s+"
    r"(?P<den>two|three|four|five|six|seven|eight|nine|ten)\b(?!\s+(?:years?|months?|days?)\b)"
    r"(?!\s*(?:to|or|-|–)\s*(?:two|three|four|five|six|seven|eight|nine|ten|\d)))"  # "one in five to six"
)
_FRACTION_WORD = r"(?:half|(?:a|one|two|three|four)[\s-](?:thirds?|quarters?|fourths?|fifths?|tenths?))"
# A share in words without "of": one its bracket states ("a quarter (26%) employ ..."), or a change by a
# share ("grew by more than a fifth")
FRACTION_BARE = _compile(
    r"(?i:\b(?P<frac>" + _FRACTION_WORD + r")(?=\s*\(\s*\d+(?:\.\d+)?\s?%\s*\))"
    r"|\b(?:grew|rose|increased|jumped|climbed|surged|fell|dropped|declined|decreased|slid)\s+by\s+"
    r"(?:(?:more\s+than|over|almost|nearly|about|around|roughly|some|less\s+than)\s+)?"
    r"(?P<frac2>" + _FRACTION_WORD + r")\b)"
)
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}  # fmt: skip
_TEENS = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
          "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}  # fmt: skip
WORD_VALUE = {**SMALL_NUMBERS, **_TEENS, **_TENS}
# A percentage in words, as a sentence may open with one: "Fifty-five percent", "twelve per cent"
WORD_PERCENT = _compile(
    r"(?i:\b(?P<tens>" + "|".join(_TENS) + r")(?:-(?P<one>" + "|".join(SMALL_NUMBERS) + r"))?"
    r"|\b(?P<small>" + "|".join(sorted(WORD_VALUE, key=len, reverse=True)) + r"))"
    r"(?i:\s+(?:percent|per\s+cent)\b)"
)
RANGE_SEP = _compile(r"\s*(?:-|–|—|~|(?i:to)\b|至|到)\s*")
BETWEEN = _compile(r"(?i:between)\s+$")
RANGE_AND = _compile(r"\s+(?i:and)\s+")
EN_SCALE = _compile(
    r"(?:\s*(?i:(?P<w>thousand|million|billion|trillion)|(?P<a>bn|mn|mln|bln|tn|trn))\b)|(?P<g>[km]|K)\b"
)
# "本港", "本澳": the writer's own Hong Kong or Macao, whose dollar a bare 元 is
HOME = _compile("本[港澳]")
HOME_CURRENCY = {"本港": "HKD", "本澳": "MOP"}
# What the rest of a number across two scales must stay under, by the scale's last character ("11萬4千")
ZH_SCALE_END = {"万": 1e4, "亿": 1e8}
# The digits after a 万 or 亿 that finish its number ("11萬4千", "3亿5000万"), not a date or a new figure
COMPOUND_REST = _compile(
    r"(?:(?P<d>\d+)|(?P<zh>[一二两三四五六七八九][零〇一二两三四五六七八九十百千]*))"
    r"(?P<s>万|千(?![米瓦克])|百)?(?![\d.点年月日号时\x00]|[" + GROUP_SEPARATORS + r"，]\d)"
)
AFTER_ZH_SCALE = _compile(r"[\d〇一二两三四五六七八九][万亿]$")
ZH_DIGITS_NEXT = _compile(  # a masked span (\x00) counts: "0万13010000000" hides a phone number
    r"[\d〇一二两三四五六七八九\x00]"
    r"(?:[\d.点〇一二两三四五六七八九十百千万亿\x00]|[" + GROUP_SEPARATORS + r"，]\d)*"
)
# 千 is no scale in 千米 (km), 千瓦 (kW), 千克 (kg), 千瓦时: those are units
ZH_SCALE = _compile(r"[多余]?(?P<s>万亿|千亿|百亿|十亿|千万|百万|十万|亿|万|千(?![米瓦克]))")

# --- units --------------------------------------------------------------------------------------------
CURRENCY_PREFIX = {
    "US$": "USD",
    "HK$": "HKD",
    "MOP$": "MOP",
    "MOP": "MOP",
    "NT$": "TWD",
    "A$": "AUD",
    "S$": "SGD",
    "C$": "CAD",
    "RMB": "CNY",
    "CNY": "CNY",
    "USD": "USD",
    "HKD": "HKD",
    "EUR": "EUR",
    "GBP": "GBP",
    "JPY": "JPY",
    "€": "EUR",
    "£": "GBP",
    "¥": "CNY",
    "￥": "CNY",
    "$": "USD",
    "人民币": "CNY",
    "港币": "HKD",  # "港幣120萬元": the currency named before the number, 元 after it
    "澳门币": "MOP",
}
_CURRENCY_SUFFIXES = [
    (r"\s*(?i:yuan|renminbi)\b|\s*(?:RMB|CNY)\b|元人民币|元", "CNY"),
    (r"\s*(?i:(?:US|U\.S\.|American)\s+dollars?)\b|\s*USD\b|美元", "USD"),
    (r"\s*(?i:(?:Hong Kong|HK)\s+dollars?)\b|\s*HKD\b|港元|港币", "HKD"),
    (r"\s*(?i:patacas?)\b|\s*MOP\b|澳门元|澳门币|澳元(?=.{0,3}澳门)", "MOP"),
    (r"\s*(?i:euros?)\b|\s*EUR\b|欧元", "EUR"),
    (r"\s*(?i:yen)\b|日元", "JPY"),
    (r"\s*(?i:pounds sterling|sterling)\b|英镑", "GBP"),
    (r"\s*(?i:dollars?)\b", "USD"),
]
# A figure written with 元 and no currency named beside it (after FULLWIDTH): "18,000元", "约3亿元"
BARE_YUAN = _compile(r"(?:(?!人民币|RMB|CNY|港|美|澳).)*(?<![港美币])元")
CURRENCY_SUFFIX = [(_compile(p), code) for p, code in _CURRENCY_SUFFIXES]
# Where a bare 元 is written on a traditional-Chinese page, the place a figure is about says whose 元 it is
YUAN_OF_PLACE = {
    "Hong Kong": "HKD", "Macao": "MOP", "Qianhai": "CNY", "Hengqin": "CNY", "Nansha": "CNY",
    "Shenzhen": "CNY", "Guangzhou": "CNY", "Zhuhai": "CNY", "Dongguan": "CNY", "Foshan": "CNY",
    "Huizhou": "CNY",
    "Zhongshan": "CNY", "Jiangmen": "CNY", "Zhaoqing": "CNY", "Guangdong": "CNY",
}  # fmt: skip
# A currency named outright in Chinese text (after FULLWIDTH): what a page's bare 元 may follow
NAMED_CURRENCY = {
    "人民币": "CNY", "RMB": "CNY", "港元": "HKD", "港币": "HKD", "HK$": "HKD", "澳门元": "MOP",
    "澳门币": "MOP", "MOP": "MOP", "葡币": "MOP",
}  # fmt: skip
NAMED_CURRENCIES = _compile("|".join(re.escape(c) for c in NAMED_CURRENCY))
# "（美元，下同）", "(人民币, 下同)": the currency of every bare amount after it
SAME_BELOW = _compile(r"[（(]\s*(?P<c>美元|港元|港币|澳门元|澳门币|人民币)\s*[，,、]\s*下同\s*[）)]")
SAME_BELOW_CURRENCY = {**NAMED_CURRENCY, "美元": "USD"}  # US dollars are declared, never inferred
# Characters only traditional script writes (their simplified forms differ): a page mostly in them is
# from Hong Kong, Macao or Taiwan, where a bare 元 is not renminbi by default
TRADITIONAL = _compile("[們個這說區與為會經發業國過實時際將對後來萬億從東門灣資產數認於開關]")
SIMPLIFIED = _compile("[们个这说区与为会经发业国过实时际将对后来万亿从东门湾资产数认于开关]")
PERCENT = _compile(r"\s?%|[\s-](?i:percent|per\s+cent|pct)\b")
POINTS = _compile(r"[\s-](?i:percentage[\s-]points?|pp|ppts?)\b|个?百分点")
_UNITS = [
    (
        r"[\s-]*(?i:square[\s-]+(?:kilomet(?:er|re)s?|km))\b|\s*sq\.?[\s-]?km\b|\s*km2\b|\s*km²|平方公里|平方千米",
        "sq km",
    ),
    (r"[\s-]*(?i:square[\s-]+met(?:er|re)s?)\b|\s*sq\.?\s?m\b|\s*sqm\b|\s*m2\b|\s*m²|平方米|㎡", "sq m"),
    (r"\s*(?i:square\s+(?:feet|foot))\b|\s*sq\.?\s?ft\b", "sq ft"),
    (r"\s*(?i:square[\s-]+miles?)\b|\s*sq\.?[\s-]?mi\b", "sq mi"),
    (r"\s*(?i:cubic\s+met(?:er|re)s?)\b|\s*m3\b|\s*m³|立方米", "cu m"),
    (r"\s*(?i:hectares?)\b|\s*ha\b|公顷", "ha"),
    (r"\s*(?i:acres?)\b", "acre"),
    (r"亩", "mu"),
    (r"[\s-](?i:kilomet(?:er|re)s?)\b|[\s-]?km\b|公里|千米", "km"),
    (r"[\s-](?i:met(?:er|re)s?)\b|米", "m"),
    (r"[\s-](?i:miles?)\b", "mi"),
    # "414,000 t", "2.8 million t": freight's tonnes, a lone "t"
    (r"\s*(?i:(?:metric\s+)?tonnes?|tons?)\b|\s+t(?![\w'’-])(?!\.\w)|公吨|吨", "tonnes"),
    (r"\s*(?i:kilo(?:gram)?s?)\b|\s*kg\b|公斤|千克", "kg"),
    (r"\s*TEUs?\b|\s*(?i:twenty-foot equivalent units?|standard\s+containers?)\b|标准箱|标箱", "TEU"),
    (r"\s*(?i:gigawatt[\s-]hours?)\b|\s*GWh\b", "GWh"),
    (r"\s*(?i:megawatt[\s-]hours?)\b|\s*MWh\b", "MWh"),
    (r"\s*(?i:kilowatt[\s-]hours?)\b|\s*kWh\b|千瓦时", "kWh"),
    (r"\s*(?i:gigawatts?)\b|\s*GW\b|吉瓦", "GW"),
    (r"\s*(?i:megawatts?)\b|\s*MW\b|兆瓦", "MW"),
    (r"\s*(?i:kilowatts?)\b|\s*kW\b|千瓦", "kW"),
    (r"\s*(?i:basis\s+points?)\b|\s*bps?\b|个基点|基点", "bp"),
]
# A Latin unit ends where Latin letters and digits do: "3041万TEU大关" is TEU though 大 is a word character
UNITS = [(_compile(p.replace(r"\b", r"(?![A-Za-z0-9])")), unit) for p, unit in _UNITS]

# --- qualifiers ---------------------------------------------------------------------------------------
_BEFORE = [
    (
        "more_than",
        r"more\s+than|over|above|in\s+excess\s+of|exceeding|exceeded|exceeds|upwards\s+of|just\s+over|"
        r"surpassing|surpassed|topping|topped|beyond|超过|超出|超|逾|多于|高于|大于|突破|(?<![通经度越不])过|"
        # "has passed the 11,000 mark": a threshold crossed, not the count itself
        r"(?:passed|crossed|broke\s+through|past|surpassed|exceeded|topped)\s+the",
    ),
    (
        "at_least",
        r"at\s+least|no\s+(?:less|fewer)\s+than|not\s+(?:less|fewer)\s+than|a\s+minimum\s+of|"
        r"至少|不少于|不低于|起码",
    ),
    ("less_than", r"less\s+than|fewer\s+than|under|below|just\s+under|不到|不足|少于|低于|未满|未达"),
    (
        "up_to",
        # not "has added up to 12.3 trillion yuan", a sum
        r"(?<!add\s)(?<!adds\s)(?<!added\s)(?<!adding\s)up\s+to|as\s+many\s+as|as\s+much\s+as|a\s+maximum\s+of|"
        r"no\s+more\s+than|not\s+more\s+than|最多|至多|不超过|最高",
    ),
    (
        "approx",
        r"about|around|approximately|nearly|almost|roughly|some|close\s+to|an\s+estimated|estimated|"
        r"circa|approx\.?|约合|约为|(?<![签合特制履预契条公节])约|大约|近|将近|接近|大概|预计",
    ),
]
QUALIFIER_BEFORE = _compile(
    r"(?:" + "|".join(f"(?P<{name}>(?<![A-Za-z])(?i:{words}))" for name, words in _BEFORE) + r")\s*(?:了)?$"
)
QUALIFIER_AFTER = [
    ("more_than", _compile(r"-?plus\b|\+|多(?![万亿])|余")),
    # 以上 counts the number itself ("5.8%以上" is 5.8 % or more), as law and statistics define it
    ("at_least", _compile(r"\s+or\s+more\b|\s+or\s+above\b|(?:或)?以上")),
    ("approx", _compile(r"-odd\b|\s+or\s+so\b|左右|上下|许")),
    ("up_to", _compile(r"\s+or\s+(?:less|fewer)\b|以内|以下")),
]

# --- multiples ("grew 2.5 times", "a 3.5-fold increase", "增长1.5倍", "是2015年的2.3倍") --------------
# "times" is a multiple only in context (a growth verb before it, a comparison after it): alone it counts
# occurrences ("three times a week") or names a paper (the Global Times). "-fold" says multiple on its own;
# "倍" is read only after a growth verb, in 是……的N倍 or before 于, so that a stray one is left out.
MULTIPLE = _compile(r"(?P<fold>[\s-]folds?\b)|(?P<times>\s+times\b)|(?P<bei>倍)")
MULTIPLE_LEAD = _compile(
    r"(?i:\b(?:gr[eo]w[sn]?|growing|increas(?:e|es|ed|ing)|r[io]s(?:e|es|en)|rising|expand(?:s|ed|ing)?|"
    r"jump(?:s|ed|ing)?|surg(?:e|es|ed|ing)|up)\s+(?:by\s+)?"
    r"|\b(?:increase|growth|rise|expansion|jump|surge)\s+of\s+)$"
    r"|(?:增长|增加|提高|扩大|上升|上涨|大增|激增|急升|飙升|猛增|增|高出)了?[超逾近约]?$"
    # "117倍和93倍": a pair of multiples
    r"|(?:倍|(?i:times|[\s-]fold))\s*(?:和|及|与|、|，|,|\s(?i:and|or)\s)\s*$"
)
# "是2015年的2.3倍", "达到去年的3倍": a level as a multiple of another (为 not inside 因为, 作为, 认为, 成为)
ZH_MULTIPLE_OF = _compile(r"(?:是|(?<![因作认以成])为|达到|相当于)[^，,；;。]*的$")
MULTIPLE_THAN = _compile(
    r"\s+(?:(?:that|those)\s+of\b|the\s+(?:[\w'’-]+\s+){0,2}?"  # "the level of", "the 2019 level"
    r"(?:level|size|scale|value|volume|amount|number|total|figure|average|area|population|length|capacity)\b|"
    r"as\s+(?:large|big|high|much|many|fast)\s+as\b|(?:higher|larger|bigger|greater|more)\s+than\b)"
    r"|于"
)
# "was increased 3 times" (someone raised it, three times), "showed up 3 times": occurrences, not multiples
MULTIPLE_NOT_LEAD = _compile(
    r"(?i:\b(?:is|are|was|were|be|been|being)\s+(?:increased|expanded|raised)\s+(?:by\s+)?|"
    r"\b(?:\w+ed|show|shows|turn|turns|pick|picks|come|comes|came|go|goes|went|set|sets|sign|signs|step|"
    r"steps|end|ends|take|takes|took|make|makes|made|put|puts|run|runs|ran|line|lines|open|opens|back|backs)"
    r"\s+up\s+(?:by\s+)?)$"
)
# "5 times a day", "2 times in a row", "2 times 3": a frequency, a streak or a formula; "3 times faster": a
# comparison of speeds, not a multiple of the subject ("times more" is read as 3x by some and 4x by others)
FREQUENCY_AFTER = _compile(
    r"(?i:\s+(?:a|an|per|each|every)\s+(?:day|week|month|year|quarter|fortnight|season|decade|hour|minute|"
    r"night|session|trip|visit|person|head|capita)\b|\s+in\s+(?:a\s+row|succession)\b|\s+(?:running|straight|"
    r"consecutively|daily|weekly|monthly|annually|yearly|over\s+again|faster|slower|quicker|(?:more|less|fewer)(?!\s+than)|"
    r"lower|smaller|cheaper|likelier|as\s+(?:often|likely|fast))\b|\s*[×*=+]|\s*x?\s*\d)"
)
# "rose 3 times since 2022", "increased 2 times this year": with a whole number these count occurrences
OCCURRENCE_AFTER = _compile(
    r"(?i:\s+(?:so\s+far|since|already|during|between|within|before|this\s+(?:year|month|week|quarter)|"
    r"last\s+(?:year|month|week|quarter)|in\s+(?:\d{4}|total|all|recent|the\s+(?:same|first|second|third|"
    r"fourth|last|latest)))\b)"
)

# --- direction (percentages and points) ----------------------------------------------------------------
UP = _compile(
    r"(?i:\b(?:up|ris(?:e|es|ing)|rose|increas(?:e|ed|es|ing)|gr[eo]w(?:th|s|ing|n)?|gain(?:ed|s)?|"
    r"jump(?:ed|s)?|surg(?:e|ed|es)|climb(?:ed|s)?|higher|expand(?:ed|s)?|boost(?:ed)?|soar(?:ed)?)\b)"
    r"|增长|增加|上升|提高|上涨|提升|增幅|涨幅|增速|多出|扩大|增"
)
DOWN = _compile(
    r"(?i:\b(?:down|f[ae]ll(?:s|ing|en)?|drop(?:ped|s)?|declin(?:e|ed|es|ing)|decreas(?:e|ed|es)|"
    r"shr[ai]nk(?:s)?|shrunk|lower|contract(?:ed|ion)|sl[iu]d(?:e|es)?|slump(?:ed)?|dip(?:ped)?|"
    r"plung(?:e|ed)|tumbl(?:e|ed)|negative)\b)|下降|减少|下跌|回落|降低|下滑|降幅|收窄|减"
)

# --- not figures: spans replaced before numbers are read -----------------------------------------------
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)(?:[a-z]{0,6})\.?"
_MASKS = [
    r"(?i:https?://|www\.)\S+",
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
    r"(?i:tel|phone|fax|hotline|call|whatsapp)\.?[:：]?\s*\+?[\d()\s-]{6,}\d|(?:电话|热线|传真|咨询电话|联系电话)[:：]?\s*[\d()\s-]{6,}\d",
    r"\+\d{1,3}[\s-]?\(?\d{1,4}\)?(?:[\s-]?\d{2,}){2,}",
    r"\(\d{2,4}\)\s?\d{3,4}[\s-]?\d{4}|\b\d{3,4}-\d{7,8}\b|\b400-?\d{3}-?\d{4}\b|(?<!\d)1[3-9]\d{9}(?!\d)",
    _MONTH
    + r"\s+\d{1,2}(?:st|nd|rd|th)?(?:\s*(?:-|–|to|and)\s*(?:"
    + _MONTH
    + r"\s+)?\d{1,2}(?:st|nd|rd|th)?)?"
    r"(?:,?\s+\d{4})?\b",
    r"\b\d{1,2}(?:st|nd|rd|th)?(?:\s*(?:-|–|to|and)\s*\d{1,2}(?:st|nd|rd|th)?)?\s+"
    + _MONTH
    + r"(?:,?\s+\d{4})?",
    _MONTH + r",?\s+\d{4}\b",
    r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b",
    r"\d{2,4}年(?:\d{1,2}(?:[-—–~至到]\d{1,2})?月(?:\d{1,2}[日号])?)?|\d{1,2}(?:[-—–~至到]\d{1,2})?月(?:\d{1,2}[日号])?",
    r"\d{1,2}[日号](?![\d万亿])",
    r"\b\d{1,2}[:：]\d{2}(?:[:：]\d{2})?(?:\s*(?i:[ap]\.?m\.?))?|\b\d{1,2}\s*(?i:[ap]\.m\.|[ap]m)(?![A-Za-z])",
    r"(?:上午|下午|晚上|早上|凌晨|中午)?(?<![\d.,])\d{1,2}[时点](?:\d{1,2}分)?(?!\d)",
    r"(?<![\d.,])\d+(?:\.\d+)?(?:\s*(?:多|余))?\s*(?:个)?半?(?:年|个月|周|天|小时|分钟|秒|岁|周岁)",
    r"\b\d+(?:\.\d+)?(?:\s*(?:to|-|–|and)\s*\d+(?:\.\d+)?)?[\s-](?i:years?|yrs?|months?|weeks?|days?|hours?|hrs?|"
    r"minutes?|mins?|seconds?|secs?|decades?|nights?)\b(?:[\s-](?i:old|of\s+age))?",
    r"(?i:\baged?\s+(?:of\s+|between\s+)?\d+(?:\s*(?:to|-|–|and)\s*\d+)?)",
    r"\b\d+(?:st|nd|rd|th)\b|(?i:\bNo\.?\s*\d+)|#\d+|第[\d一二三四五六七八九十百千零〇两]+|(?i:\btop[\s-]\d+)",
    # "ranked 3", "placed 12" (not "placed 1,200 trainees": a count)
    r"(?i:\b(?:rank(?:s|ed|ing)?|placed|position)\s+(?:No\.?\s*)?\d{1,3}(?![\d,  ]|\s+[a-z][\w-]*s\b))",
    r"\b(?:Article|Section|Chapter|Clause|Phase|Line|Route|Terminal|Gate|Building|Tower|Hall|Room|Block|Floor|"
    r"Level|Stage|Round|Part|Vol\.?|Volume|Issue|Item|Paragraph|Batch|Version|Exit|Platform|Berth|Pier|Grade|"
    r"Class|Season|Episode|Figure|Fig\.|Table|Chart|Appendix|Annex|Rule|Step|Goal|Group|Team|Unit|Flat|Shop|Plot|"
    r"Lot|Highway|Expressway|Metro|District|Measure|Signal|Category|Typhoon|Gen|Model|Series|Region|Zone|"
    r"Global|Fortune|Forbes|Top|Hang Seng|Index|Web|Industry|Plan|Vision|Agenda|Head|HEAD|Subhead)"
    r"\s+\d+(?:\.\d+)*",
    r"(?i:\bpages?\s+\d+(?:\s*(?:of|/)\s*\d+)?)|第?\d+页|共\d+页|(?<![\d.])\b\d+\s*/\s*\d+\b(?!\s*%)",
    # "18 Harbour Road", not "144 000 Closed Road Permits"
    r"(?<![\d,  ])\b\d{1,4}\s+[A-Z][a-z]+\s+"
    r"(?:Road|Rd|Street|St|Avenue|Ave|Boulevard|Blvd|Lane|Drive|Way|Square)\b(?!\s+[A-Za-z]+s\b)",
    r"\d+(?:号线|号楼|号|楼|栋|室|层|路|届|期|条款)(?![\d])",
    r"\(\s*\d{4,6}\s*\.\s*(?:HK|SZ|SH|SS)\s*\)|\b\d{4,6}\.(?:HK|SZ|SH|SS)\b|(?:HK|SZ|SH|HKEX|SEHK)[:：]\s*\d+",
    r"^\s*[(（]?\d{1,2}[)）、]|^\s*\d{1,2}\.(?=\s)|[(（]\d{1,2}[)）]",
    r"\b(?:19|20)\d{2}s\b|\b(?:19|20)\d{2}[-–/](?:19|20)?\d{2}\b|'\d{2}\b",
    # a rank ("跻身全球前13名", "前10位"), and the Bay Area's own make-up, which is no news: its 9 Mainland
    # cities and 2 special administrative regions ("大湾区9个内地城市", "the nine Pearl River Delta cities")
    r"前\d+(?:名|位)",
    r"(?:9|九|11|十一)个(?:内地|珠三角|湾区)?城市|(?:2|两)个特别行政区|"
    r"(?i:\b(?:9|11)\s+(?:mainland\s+|Pearl\s+River\s+Delta\s+|PRD\s+|Greater\s+Bay\s+Area\s+|GBA\s+)?cities)",
    # a policy named by its count of articles: “金融30条”, 《海关18条措施》
    r"[“\"「『《][\u4e00-\u9fff]{0,8}\d+条(?:措施)?[”\"」』》]",
    # "1元创新坊", "10元店": a few 元 glued to the noun they name are a name, not an amount
    r"(?<![\d.,])(?:[1-9]|10)元(?=[\u4e00-\u9fff])(?![人以左的至到每一起上钱及和或不内])",
    # an exchange rate stated in passing: "(1 pataca equals 0.12 U.S. dollar)"
    r"(?i:\b1\s+[A-Za-z.$ ]{1,24}?\s+(?:equals|=|is\s+worth|is\s+equal\s+to)\s+(?:about\s+)?[\d.]+)",
    # arithmetic: "4 times 5 equals 20", "3 × 4 = 12"
    r"\b\d+(?:\.\d+)?\s*(?:(?i:times|multiplied\s+by)|×)\s*\d+(?:\.\d+)?(?:\s*(?:(?i:equals|is)|=)\s*\d+(?:\.\d+)?)?",
]
MASK = _compile("|".join(f"(?:{p})" for p in _MASKS), re.MULTILINE)

# --- periods --------------------------------------------------------------------------------------------
_PART = (
    r"(?:first|second|third|fourth|last|final|past|latest)\s+(?:half|quarter|three\s+quarters|two\s+quarters|"
    r"\d+\s+months|(?:two|three|four|five|six|seven|eight|nine|ten|eleven)\s+months)"
)
_EN_YEARREF = r"(?:\d{4}|(?:the\s+)?(?:this|last|the)\s+year|the\s+previous\s+year)"
_PERIODS = [
    r"(?i:\bso\s+far(?:\s+this\s+year)?)",
    r"(?i:\b(?:as\s+(?:of|at)|by|until|through|at)\s+(?:the\s+)?end\s+of\s+(?:"
    + _MONTH
    + r"\s*)?"
    + _EN_YEARREF
    + ")",
    r"(?i:\bas\s+(?:of|at)\s+(?:" + _MONTH + r"(?:\s+\d{1,2})?(?:,?\s+\d{4})?|\d{4}))",
    r"(?i:\b(?:the\s+)?" + _PART + r"(?:\s+(?:of|in)\s+" + _EN_YEARREF + ")?)",
    r"(?i:\b(?:the\s+)?(?:Q[1-4]|H[12])\s+(?:of\s+)?\d{4})",
    r"(?i:\b(?:January|Jan)\s*[-–]\s*" + _MONTH + r"(?:\s+(?:period\s+)?(?:of\s+)?\d{4})?)",
    r"(?i:\b(?:since|by)\s+\d{4})",
    r"(?i:\b(?:this|last)\s+year)",
    r"(?i:\b(?:over|in|during)\s+the\s+past\s+(?:\w+\s+)?(?:years?|months?|decades?))",
    r"(?<=\bin\s)(?:January|February|March|April|May|June|July|August|September|October|November|December)"
    r"(?:\s+\d{4})?",
    r"(?i:(?<=\bin\s)\d{4}|(?<=\bduring\s)\d{4}|(?<=\bfor\s)\d{4}|(?<=\bin\sfiscal\s)\d{4})",
    r"截至(?:目前|\d{4}年)?(?:\d{1,2}月)?(?:\d{1,2}[日号])?(?:底|末|初)?",
    r"(?:\d{4}年|今年|去年|前年)(?:以来|全年|上半年|下半年|前三季度|首[一二三四]季度?|第[一二三四]季度|[一二三四]季度|"
    r"1[-—–~至]\d{1,2}月|前\d{1,2}个月|\d{1,2}月份?)?",
    r"(?:上半年|下半年|前三季度|首[一二三四]季度?|第[一二三四]季度|前\d{1,2}个月|1[-—–~至]\d{1,2}月|目前|至今|迄今)",
    r"(?<![\d年])\d{1,2}月(?:份|底|末)?(?![\d日号])",
]
PERIOD = _compile("|".join(f"(?:{p})" for p in _PERIODS))
PERIOD_LEAD = _compile(r"^(?i:as\s+(?:of|at)\s+|by\s+|in\s+|during\s+|over\s+|the\s+)+")

# --- places ---------------------------------------------------------------------------------------------
# name → (rank, spellings); a higher rank is a more specific place and wins in a sentence naming several.
PLACES = {
    "Qianhai": (4, ("Qianhai", "前海深港现代服务业合作区", "前海合作区", "前海")),
    "Hengqin": (4, ("Hengqin", "横琴粤澳深度合作区", "横琴合作区", "横琴")),
    "Nansha": (4, ("Nansha", "南沙新区", "南沙自贸区", "南沙")),
    "Hetao": (4, ("Hetao", "Lok Ma Chau Loop", "河套深港科技创新合作区", "河套合作区", "河套")),
    "Shenzhen": (3, ("Shenzhen", "深圳")),
    "Hong Kong": (3, ("Hong Kong", "HKSAR", "香港")),
    "Macao": (3, ("Macao", "Macau", "澳门")),
    "Guangzhou": (3, ("Guangzhou", "广州")),
    "Zhuhai": (3, ("Zhuhai", "珠海")),
    "Dongguan": (3, ("Dongguan", "东莞")),
    "Foshan": (3, ("Foshan", "佛山")),
    "Huizhou": (3, ("Huizhou", "惠州")),
    "Zhongshan": (3, ("Zhongshan", "中山")),
    "Jiangmen": (3, ("Jiangmen", "江门")),
    "Zhaoqing": (3, ("Zhaoqing", "肇庆")),
    "Guangdong": (2, ("Guangdong", "广东")),
    "GBA": (1, ("Greater Bay Area", "GBA", "Bay Area", "大湾区")),
}
_SPELLING = {s: name for name, (_, spellings) in PLACES.items() for s in spellings}
PLACE = _compile("|".join(sorted((re.escape(s) for s in _SPELLING), key=len, reverse=True)))
PLACE_OF = _SPELLING
PLACE_MODIFIER = _compile(r"(?:-(?!\s)|['’]s\s+(?:Special|SAR)|\s+(?:SAR|Special))")

# --- subjects and metric keys -----------------------------------------------------------------------------
NP_STOP = frozenset([
    "in", "at", "on", "of", "from", "to", "for", "with", "by", "across", "into", "onto", "over", "under",
    "within", "between", "among", "through", "during", "since", "per", "via", "as", "than", "like",
    "including", "include", "includes", "included", "about", "around", "against", "toward", "towards",
    "upon", "after", "before", "while", "whereas", "and", "or", "but", "nor", "so", "yet", "which", "that",
    "who", "whom", "whose", "where", "when", "why", "how", "what", "whether", "if", "because", "although",
    "though", "is", "are", "was", "were", "be", "been", "being", "have", "has", "had", "do", "does", "did",
    "will", "would", "can", "could", "may", "might", "shall", "should", "must", "this", "these", "those",
    "there", "here", "it", "its", "they", "their", "them", "we", "our", "he", "she", "his", "her", "i",
    "you", "your", "the", "a", "an", "reached", "reaching", "reach", "hit", "hitting", "totaled",
    "totalled", "totaling", "totalling", "stood", "standing", "accounted", "accounting", "rose", "rising",
    "grew", "growing", "increased", "increasing", "fell", "falling", "dropped", "declined", "jumped",
    "surged", "up", "down", "year-on-year", "last", "next", "year", "years", "month", "months", "week",
    "weeks", "day", "days", "percent", "per", "cent", "yuan", "dollars",
])
NP_HEAD_IRREGULAR = frozenset(
    ["people", "staff", "personnel", "talent", "children", "men", "women", "youth", "police", "cattle"]
)
PERIOD_WORDS = frozenset([
    "first", "second", "third", "fourth", "last", "past", "latest", "final", "half", "quarter", "year",
    "years", "period", "month", "months",
])
POINT_KINDS = frozenset(["percentage", "basis", "index", "bonus", "credit", "match"])
# Plural heads that are money, not counts: "Exports" under "(HK$ million)"
MONEY_PLURALS = frozenset({
    "exports", "imports", "re-exports", "sales", "revenues", "receipts", "earnings", "assets", "deposits",
    "loans", "profits", "investments", "funds", "proceeds", "taxes", "expenditures", "payments", "transfers",
    "savings", "costs", "prices", "wages", "salaries", "incomes", "budgets", "grants", "subsidies", "values",
})
# Heads that measure a flow of the things named before them: "passenger flow", "vehicle traffic"
FLOW_HEADS = frozenset({"flow", "flows", "volume", "volumes", "traffic", "throughput"})
NP_BAD_HEADS = frozenset([
    "times", "others", "ones", "years", "months", "days", "hours", "weeks", "percent", "points", "cents",
    "terms", "ways", "degrees", "minutes", "seconds", "decades", "details",
])
LEFT_LINKS = _compile(
    r"(?i:(?:\s+(?:has|have|had|is|are|was|were|will|would|to|been|be|now|also|already|further|further|only|"
    r"currently|recently|reportedly|respectively|approximately|some|a\s+total\s+of|total|totaling|totalling|"
    r"reach(?:ed|ing|es)?|hit(?:ting|s)?|total(?:ed|led|ing|ling|s)?|averag(?:ed|ing|es)|stood\s+at|"
    r"standing\s+at|stands\s+at|"
    r"amount(?:ed|ing|s)?\s+to|came\s+to|coming\s+to|rose|rise|rising|rises|grew|grow|growing|increas(?:ed|ing|es)|"
    r"jump(?:ed|ing)?|surg(?:ed|ing)|climb(?:ed|ing)?|fell|fall|falling|dropp(?:ed|ing)|declin(?:ed|ing)|"
    r"decreas(?:ed|ing)|gain(?:ed|ing)?|expand(?:s|ed|ing)?|soar(?:ed|ing)|of|at|to|by|from|up|down|with|about|"
    r"accounting\s+for|accounted\s+for|account\s+for|exceed(?:ed|ing|s)?|top(?:ped|ping|s)?|"
    r"surpass(?:ed|ing|es)?|register(?:ed|ing)|record(?:ed|ing)|post(?:ed|ing)|attract(?:ed|ing)|"
    r"secur(?:ed|ing)|rais(?:ed|ing)|host(?:ed|ing|s)?|draw(?:ing|n)?|drew|approv(?:ed|ing)|handl(?:ed|ing)|"
    r"generat(?:e|ed|ing)|achiev(?:e|ed|ing)|contribute|create|bring|attract|raise|invest|earn|save|lose|"
    r"cover(?:s|ed|ing)?|span(?:s|ned|ning)?|occup(?:y|ies|ied|ying)|"
    r"handl(?:es|e)|receiv(?:ed|es|ing)|welcom(?:ed|es|ing)|serv(?:ed|es|ing)|employ(?:s|ed|ing)?|saw|sees?|"
    r"invest(?:s|ed|ing)?|contribut(?:ed|es|ing)|add(?:s|ed|ing)?|creat(?:ed|es|ing)|sign(?:s|ed|ing)?|"
    r"complet(?:ed|es|ing)|launch(?:ed|es|ing)?|buil[td]|train(?:s|ed|ing)?|provid(?:ed|es|ing)|offer(?:s|ed|ing)?|"
    r"issu(?:ed|es|ing)|set\s+up|pour(?:ed|ing)|injected|allocat(?:ed|ing)|earmark(?:ed|ing)|"
    r"worth|valued\s+at|estimated\s+at|set\s+at|a|an|the|its|their|"
    r"nearly|almost|around|roughly|over|more\s+than|less\s+than|at\s+least|up\s+to|year-on-year))+\s*)$"
)
ING_NOUNS = frozenset([
    "funding", "financing", "spending", "housing", "building", "buildings", "shipping", "lending",
    "training", "trading", "pricing", "manufacturing", "listing", "listings", "offering", "offerings",
    "earnings", "savings", "holdings", "bookings", "dealings", "proceedings", "seed", "red", "bed", "need",
    "feed", "speed", "shed"
])
VERBS = frozenset([
    "held", "stood", "kept", "hit", "set", "cut", "put", "made", "saw", "grew", "rose", "fell", "won",
    "lost", "paid", "spent", "sold", "built", "brought", "drew", "took", "gave", "got", "came", "went",
    "ran", "hosts", "attracts", "employs", "covers", "handles", "receives", "sees",
    "offers", "offered", "provides", "gives", "pays", "plans", "aims", "expects", "says", "said", "shows",
    "costs", "charges", "estimates", "targets", "predicts", "forecasts", "brings", "adds", "sets", "has",
])
VAGUE_HEADS = frozenset([
    "share", "proportion", "number", "total", "value", "volume", "amount", "level", "rate", "percentage",
    "portion", "half", "majority", "bulk", "sum", "part",
])
SUBJECT_DROP = frozenset([
    "the", "a", "an", "its", "their", "his", "her", "our", "this", "that", "these", "those", "total",
    "combined", "overall", "cumulative", "accumulated", "aggregate", "some", "such",
])
EN_SYNONYMS = {
    "companies": "enterprises",
    "company": "enterprises",
    "firms": "enterprises",
    "firm": "enterprises",
    "businesses": "enterprises",
    "enterprise": "enterprises",
    "persons": "people",
    "individuals": "people",
    "start-ups": "startups",
    "talents": "talent",
    "practitioners": "professionals",
    "hk-funded": "hong kong-funded",
    "hong kong-invested": "hong kong-funded",
    "hk-invested": "hong kong-funded",
    "hong kong-backed": "hong kong-funded",
    "foreign-invested": "foreign-funded",
    "macau-funded": "macao-funded",
    "macao-invested": "macao-funded",
    "hong kong-owned": "hong kong-funded",
}
EN_SYNONYM = _compile(
    r"\b(?:" + "|".join(sorted((re.escape(k) for k in EN_SYNONYMS), key=len, reverse=True)) + r")\b", re.I
)
ZH_SUBJECTS = {
    "港资企业": "Hong Kong-funded enterprises",
    "港企": "Hong Kong-funded enterprises",
    "香港企业": "Hong Kong-funded enterprises",
    "港资": "Hong Kong-funded enterprises",
    "澳资企业": "Macao-funded enterprises",
    "外资企业": "foreign-funded enterprises",
    "注册资本": "registered capital",
    "金融机构": "financial institutions",
    "港人": "Hong Kong people",
    "香港居民": "Hong Kong residents",
    "港澳专业人士": "professionals",
    "专业人士": "professionals",
    "实际使用外资": "utilized foreign capital",
    "地区生产总值": "GDP",
    "生产总值": "GDP",
    "进出口总额": "foreign trade",
    "外贸进出口": "foreign trade",
    "进出口": "foreign trade",
    "固定资产投资": "fixed-asset investment",
    "企业": "enterprises",
    "公司": "enterprises",
    "人才": "talent",
    "集装箱吞吐量": "container throughput",
    "初创企业": "startups",
}
# What a Chinese subject measures, read from its end ("港资企业纳税额": the tax of 港资企业), in the words the
# English extractor gives the same measure, so that both languages land on one key. "{}" takes the owner
# when ZH_SUBJECTS knows it ("tax paid by Hong Kong-funded enterprises"), else is left out.
ZH_MEASURES = {
    "纳税额": "tax paid by {}", "纳税总额": "tax paid by {}", "缴纳税款": "tax paid by {}",
    "税收": "tax paid by {}", "纳税": "tax paid by {}", "税收贡献": "tax paid by {}",
    "注册资本": "registered capital", "实缴资本": "paid-in capital", "实收资本": "paid-in capital",
    "进出口总额": "foreign trade", "进出口额": "foreign trade", "外贸进出口": "foreign trade",
    "进出口": "foreign trade", "贸易额": "trade", "出口额": "exports", "出口": "exports",
    "进口额": "imports", "进口": "imports",
    "地区生产总值": "GDP", "生产总值": "GDP", "经济总量": "GDP",
    "集装箱吞吐量": "container throughput", "货物吞吐量": "cargo throughput", "吞吐量": "throughput",
    "旅客吞吐量": "passenger trips", "客流量": "passenger trips", "出入境旅客": "passenger trips",
    "出入境人次": "passenger trips", "通关旅客": "passenger trips",
    "常住人口": "residents", "居民": "residents", "人口": "population",
    "就业岗位": "jobs", "岗位": "jobs", "就业人数": "jobs",
    "金融机构": "financial institutions", "投资额": "investment", "投资总额": "investment",
    "总投资": "investment", "固定资产投资": "fixed-asset investment",
    "实际使用外资": "utilized foreign capital",
    "占地面积": "area", "土地面积": "area", "总面积": "area", "面积": "area",
    "数量": "{}", "总数": "{}", "家数": "{}",
}
ZH_MEASURE = _compile(
    r"(?P<m>人次|辆次|车次|架次|艘次|家|名|个|位|人|项|所|座|艘|架|辆|套|件|宗|笔|批|条|台|款|场|户|只|种|间|栋|张|份|支|组|处|例|趟|班|列|单(?![日个位次]))"
)
ZH_MEASURE_UNIT = {
    "家": "entities",
    "名": "people",
    "位": "people",
    "人": "people",
    "人次": "person-times",
    "辆次": "vehicle-trips",
    "车次": "train-trips",
    "架次": "flights",
    "艘次": "vessel-trips",
    "项": "items",
    "个": "units",
    "所": "institutions",
    "艘": "vessels",
    "架": "aircraft",
    "辆": "vehicles",
    "套": "sets",
    "宗": "cases",
    "笔": "deals",
    "条": "items", "单": "orders",
    "户": "households",
}
ZH_SELF_UNITS = frozenset(
    {"person-times", "vehicle-trips", "train-trips"}
)  # these measure words need no noun
# a noun after a measure word never ends inside a number ("0家0100100000" names nothing)
ZH_NOUN = _compile(
    r"(?![以左上多余])(?:[\u4e00-\u9fffA-Za-z]|(?<=[A-Za-z])\d)(?:[\u4e00-\u9fffA-Za-z]|(?<=[A-Za-z])\d){0,9}"
)
ZH_HEAD = _compile(
    r"专业人士|人士|企业|公司|机构|人才|项目|团队|居民|港人|澳人|学生|青年|人员|员工|平台|基站|园区|银行|基金|"
    r"门店|商户|航线|班次|船舶|车辆|用户|家庭|学校|医院|床位|岗位|游客|旅客|人次|代表|客商|展商|患者|病人"
)
ZH_NOUN_STOP = _compile(
    r"[的在于已曾和与及并将从向对把被为是有让使由等达超共计累]|落户|入驻|进驻|注册|设立|实现|完成|参与|获得|通过|签约"
)
ZH_LEFT_TRIM = _compile(
    r"(?:吸引|获得|引进|带动|拉动|拥有|已有|共有|已经|已|累计|共计|共|总计|合计|达到|达|为|是|至|到|超过|超|突破|实现|完成|同比|增长|增加|扩大|"
    r"下降|减少|提高|增至|降至|仅|有|占|了|按年|按月|按季|同期|多出|数量|总数|人数|录得|则|均|分别)+$"
)
ZH_LEFT_LEAD = _compile(
    r"^(?:其中|目前|同时|同期|此外|另外|全年|全区|全市|今年|去年|截至|累计|共有|共|已有|已|拥有|有|该区|该市|当地|"
    r"注册(?!资本|资金)|设立|落户|入驻|聚集|集聚|引进|吸引|获得|带动|拉动|完成|实现|新区|合作区|自贸区|"
    r"[市区省县](?![民域])|已)+"
)
CHANGE_LEAD = _compile(
    r"(?i:\b(?:rose|rise|rising|risen|grew|grow|growing|grown|increased|increasing|jumped|climbed|fell|fallen|"
    r"falling|dropped|declined|decreased|(?<!made\s)(?<!make\s)(?<!makes\s)(?<!making\s)up|down|added|"
    r"adding|gained|shed|lost|cut)\s+(?:by\s+)?)$"
    r"|(?:增加|增长|减少|下降|提高|降低|多出|增|减|多|少)了?$"
)
ZH_PLACE_AND = _compile(r"^[与和及同、](?=(?:" + PLACE.pattern + r"))")
# 增长1.5倍，达到120亿元: the level a percentage or a multiple leads to (English "to" is in INHERIT_GAP)
ZH_LEVEL_LINK = _compile(r"\s*[，,]?\s*(?:达到|达|增至|升至|至)了?\s*")
COMPARISON_CLAUSE = _compile(r"[，,；;]\s*(?:同比|环比|按年|按月|比|较)[^，,；;。]*$")
ZH_CONVERSION = _compile(r"\s*[，,]\s*(?:约合|折合)")
ZH_TOPIC_BREAK = _compile(r".*(?:已|实现|力争|将)")
ZH_COMPARISON = _compile(r"(?:比(?!重|例)|较|按年|按月)[\u4e00-\u9fff\d]*$")
# "HONG KONG, Nov 20 (Reuters) -", "新华社广州11月20日电": where the story was filed, not what it counts
DATELINE = _compile(
    r"\s*(?:[A-Z][A-Z .'-]+(?:,\s*[A-Z][A-Za-z .'-]+)?(?:,\s*[A-Z][a-z]{2,8}\.?\s+\d{1,2})?"
    r"\s*(?:\([A-Za-z ]+\))?\s*[-–—]+\s*"
    r"|[\u4e00-\u9fff]{0,10}?\d{1,2}月\d{1,2}日电(?:（[^）]*）)?)"
)
CJK = _compile(r"[\u3400-\u9fff]")

# --- the context around a number ---------------------------------------------------------------------
MAYBE_NUMBER = _compile(
    r"[0-9０-９]|(?i:half|thirds?|quarters?|fourths?|fifths?|tenths?)(?:\s+of\b|\s*\(|\b)|(?i:per\s*cent)|\b(?i:in(?:\s+every)?|out\s+of)\s+(?i:three|four|five|ten)\b"
    r"|[一二两兩三四五六七八九]成|[逾过過近超]半|(?i:thousand|million|billion|trillion|square|hectare|kilomet)|\b(?:Ten|Eleven|Twelve|[A-Z][a-z]+teen|(?:Twen|Thir|For|Fif|Six|Seven|Eigh|Nine)ty)\b|[一二两三四五六七八九十百千][万亿]|百分之|[百千]"
    r"|分之|[逾近超过過破约約][万萬]|\b(?:Two|Three|Four|Five|Six|Seven|Eight|Nine)\s+of\b"
    # "three times", "five pilot medical institutions": small numbers in words that may be figures
    r"|\b(?i:two|three|four|five|six|seven|eight|nine|ten)(?:\s+(?i:times)\b|" + _INSTITUTIONS_AHEAD + r")"
)
NUM2 = _compile(
    r"(?:(?:US\s?\$|HK\$|MOP\$?|RMB|€|£|¥|￥|\$|人民币)\s?)?(" + _grouped("sep2") + r"|\d+(?:\.\d+)?)"
    r"(?![\d.]*[A-Za-z]{2})"
)
# A letter glued to a number is a name (5G, 3D, 19th, 1990s) unless it is a scale or a unit
GLUED = _compile(
    r"(?!(?:bn|mn|mln|bln|tn|trn|k|m|K|km|km2|sq|sqm|m2|m3|kg|GW|MW|kW|kWh|GWh|MWh|TEUs?|ha|pct|pp|ppts?|bps?"
    r"|t|plus)\b)[A-Za-z]"
)
DIGITS = _compile(r"\d+(?:[.,:/-]\d+)*")
ELLIPSIS = _compile(
    r"(?i:\b(?:including|of\s+which|of\s+whom|of\s+them|among\s+them|among\s+which|versus|"
    r"against|compared\s+with|"
    # "up 420 per cent from 2,313 in 2015": the count the change started from
    r"(?:up|down|rising|falling|climbing|increasing|decreasing)(?:\s+(?:by\s+)?[\d.]+\s?(?:%|per\s?cent))?"
    r"\s+from(?:\s+the)?|"
    # "a marked rise from about 177,000"
    r"\b(?:rise|increase|jump|drop|fall|decline)\s+from(?:\s+the)?|"
    r"(?:bringing|taking|raising|lifting|pushing)\s+(?:the|its|their)\s+(?:total|number|tally|count)\s+to|"
    # "Visitors from Hong Kong numbered 41,409 and those from Taiwan 4,742"
    r"those\s+(?:from|in|at|of)\s+(?:[A-Z][\w'’.-]*,?\s+){1,3}))\s*$"
    r"|其中[^，。；]{0,6}$"
)
YEAR_LEAD = _compile(
    r"(?i:\b(?:in|since|by|from|of|during|until|till|to|and|or|through|year|fiscal|early|late|mid|"
    r"before|after|for)[\s-]*)$"
)
OPENING = _compile(
    r"\s*(?i:(?:of|among)\s+(?:those|these|them|which|whom|the\s+total)"
    r"(?:\s+(?P<np>[a-z][\w-]*(?:\s+[a-z][\w-]*){0,2}))?\s*,?\s*)|\s*其中\s*[，,]?\s*"
)
CHANGE = _compile(r"(?i:\b(from|by)\s*(?:[A-Za-z$]{1,4}\s?\$?)?)$")
TRAILING_WHERE = _compile(
    r"\s+(?i:in|at|across|within|for|during|of|over)\s+(?:the\s+)?(?:(?:" + PLACE.pattern + r")(?:['’]s)?|"
    r"(?i:(?:first|second|third|last|past)\s+\w+(?:\s+months)?(?:\s+of\s+(?:the\s+)?year)?|(?:this|last)\s+year)|"
    r"(?:(?:[A-Z][\w-]*(?:['’]s)?|district|zone|area|city|province|region|county|port|new|cooperation)\s*)+$)?"
    r"[\s,]*$"
)
# "trips between Hong Kong and Shenzhen reached": the places say where, the noun before them is the subject
TRAILING_BETWEEN = _compile(
    r"\s+(?i:between|from)\s+(?:the\s+)?(?:" + PLACE.pattern + r")\s+(?i:and|to)\s+(?:the\s+)?(?:"
    + PLACE.pattern + r")[\s,]*$"
)
AFTER_PLUS = _compile(r"-?plus\b|\+|-odd\b|[多余](?=[\u4e00-\u9fff])")
# "40 of which", "1 250 of them", "3,000 of the applicants": a part of a count
# "464 of the 632 who finished": both count the noun counted before
OF_THE_COUNT = _compile(r"\s+(?i:of\s+the)\s+\d[\d,  ]*\s+(?i:who|whom|that|which)\b")
COUNT_WHO = _compile(r"\s+(?i:who|whom|that|which)\b")
OF_THE_BEFORE = _compile(r"(?i:\bof\s+the)\s+$")  # "... of the 632 who"
AND_BEFORE = _compile(
    r"(?:\b(?i:and|with)|,)\s+(?:(?i:about|around|some|nearly|almost|approximately|over|more\s+than)\s+)?$"
)
# "Of the Macao residents living there, 90 percent ..., and 100,000 of them": what "them" are
OF_THE_OPENING = _compile(
    r"\s*(?i:of|among)\s+(?i:the|its|their|these|those)\s+(?P<np>(?:[A-Za-z][\w'’-]*\s+){0,3}?[A-Za-z][\w'’-]*s)\b"
)
# A table row naming what it counts before what was done to them: "Permits issued", "Bookings per month"
COUNTED_ROW = _compile(
    r"\s*(?P<np>(?:[A-Za-z][\w'’-]*\s+){0,3}(?P<head>[A-Za-z][\w'’-]*s))\s+(?i:issued|made|received|approved|"
    r"granted|registered|recorded|handled|processed|per\s+(?:day|week|month|year))\b"
)
# "576,000 departures, approximately 250,000 more than the number of arrivals": a difference of that count
MORE_THAN_AFTER = _compile(r"\s+(?i:more|fewer|less)\s+than\b")
# "of the 632 people who completed it, 464 were offered": a part of the count the clause named
OF_THE_CLAUSE = _compile(r"(?i:\bof\s+(?:the|these|those))\s+[^,;]{3,140},\s*$")
PART_VERB_AFTER = _compile(r"\s+(?i:were|are|was|have|had|has|will|would)\b")
# "That beat the previous high of 86,000": the count said before, at its record
HIGH_OF = _compile(r"(?i:\b(high|record|peak|low)\s+of|\b(peak)(?:ing|ed)\s+at)\s+$")
# "20,000 came from residents ... and 1,269 from Macau residents": the count before, from another source;
# "90 000 elderly persons were residing in GD Province, and 1 667 in Fuzhou": at another place
AND_FROM = _compile(
    r"\s+(?:(?i:from)\s+(?:the\s+)?(?![A-Za-z$]{0,4}\s?\d)[A-Za-z]|in\s+(?:the\s+)?[A-Z][a-z]|under\s+the\b)"
)
OF_THEM = _compile(
    r"\s+(?i:of)\s+(?:(?i:them|which|whom|those|these)\b|"
    # "of the applicants", "of last month's arrivals"
    r"(?:the|(?:last|this|the\s+previous)\s+(?:month|year|week|quarter)['’]s)\s+"
    r"(?P<np>(?:[a-z][\w-]*\s+)?[a-z][\w-]*s)\b)"
)
# "Same-day visitors numbered 2,219,383 and overnight visitors 1,799,721": a parallel count of another noun
AND_NOUN_BEFORE = _compile(r"\b(?i:and)\s+(?P<np>(?:[a-z][\w-]*\s+){0,2}[a-z][\w-]*s)\s+$")
TOTAL_TO = _compile(r"(?i:\b(?:total|number|tally|count)\s+to)\s*$")
PERCENT_OF = _compile(r"\s+of\s+(?:the\s+|its\s+|their\s+)?([a-z][\w-]*(?:\s+[a-z][\w-]*)?)\b")
# A goal or a forecast ("aims to attract 100 billion yuan by 2027", "力争突破1.5万家") gets a key of its own:
# it must not read as the actual value having changed.
TARGET_BEFORE = _compile(
    r"(?i:\b(?:aims?|aiming|aimed|targets?|targeting|targeted|goal|plans?\s+to|planning\s+to|expects?|expected\s+to|"
    r"forecasts?|projected|projects?\s+that|hopes?\s+to|seeks?\s+to|strives?\s+to|is\s+set\s+to)\b)"
    r"|力争|目标|计划|预计|预期|有望|争取|将达|将实现|将突破|到20\d\d年"
)
TARGET_AFTER = _compile(r"[^\n]*?(?:(?i:\bby\s+(?:the\s+end\s+of\s+)?20\d\d\b)|的目标)")
ONLY_LINKS = _compile(
    r"(?i:\s*(?:(?:provisionally|officially|initially|preliminarily)\s+)?(?:estimated|valued|put|pegged|set|"
    r"forecast|projected|reported)\s+(?:at|to\s+be)\s*)"
)
VAGUE_SUBJECTS = frozenset([
    "increase", "rise", "growth", "decline", "drop", "decrease", "jump", "gain", "fall", "change",
    "year-on-year increase", "year-on-year rise", "year-on-year growth", "year-on-year decline",
    "year-on-year decrease",
])
CHANGE_OF_BEFORE = _compile(
    r"(?i:\b(?:up|down|rising|falling|(?:an?\s+)?(?:year-on-year\s+)?(?:increase|rise|growth|decline|drop|"
    r"decrease|jump|gain|fall)\s+of)\s*)$"
)
# "rose to 3.1%", "增至3.1%": the level a rate reached, not its change
LEVEL_LEAD = _compile(r"(?:(?i:\bto)|至|到)\s*$")
TO_LEVEL = _compile(r"(?i:\bto)\s*$")
# The plural noun a change verb follows, and the level it went to: "light passenger car trips in May went up
# by 25.5% year-on-year to", "Newly incorporated companies in Macao rose by 150 from the previous quarter to"
CHANGED_TO = _compile(
    r"\b(?P<np>(?:[A-Za-z][\w-]*\s+){0,3}?(?P<head>[A-Za-z][\w-]*s))\s+"
    # "visitors from mainland China grew", "visitor arrivals by land increased", "trips in May went up"
    r"(?:(?:from|by|through|via|in|during|for)\s+(?:the\s+)?(?:[\w-]+\s+){1,3}|(?:also|have|has|had)\s+)?"
    r"(?i:rose|fell|went\s+up|went\s+down|increased|decreased|grew|dropped|declined|climbed|jumped|surged|"
    r"slid|edged\s+(?:up|down))\b(?:[^,;:]|,(?=\d))*?\bto\s*$"
)
# The plural noun a sentence opens with, its subject: "Visitors from ...", "The Mainland visitors ..."
SUBJECT_OPENING = _compile(
    r"\s*(?:The\s+)?(?!(?i:in|on|at|for|by|from|as|of|during|since|after|before|over|with|between|among)\s)"
    r"(?P<np>(?:[A-Za-z][a-z-]+\s+){0,3}(?:[A-Za-z][a-z-]+s|flow|volume|traffic|throughput))\b(?!['’])"
    r"(?P<from>\s+(?:from|of|in|at)\b)?"
)
COUNT_LINK = _compile(
    r"(?i:\b(?:(?:reached|hit|set)\s+a\s+(?:new\s+)?(?:record|high)(?:\s+of|,?\s+at)|"
    r"totall?ed|totall?ing|numbered|numbering|averaged|averaging|stood\s+at|standing\s+at|reached|reaching|"
    r"amounted\s+to|came\s+to)\s+(?:a\s+total\s+of\s+|some\s+|about\s+|around\s+|nearly\s+|over\s+|"
    r"more\s+than\s+|approximately\s+|almost\s+|roughly\s+)?)$"
)
# "Average daily vehicle traffic last month was about 7,500": a count whose noun the sentence opens with
IS_LINK = _compile(
    r"(?i:\b(?:was|were)\s+(?:about|around|some|nearly|almost|approximately|roughly|over|more\s+than|"
    r"just\s+over|just\s+under|under|less\s+than)?\s*)$"
)
INHERIT_GAP = _compile(
    r"[\s\x00,]*(?:(?i:year[\s-]on[\s-]year|from|to|or|up|down|reaching|hitting|increased|decreased|rose|fell|"
    r"grew|declined|dropped|jumped|climbed|by|an?|increase|decrease|rise|of|which|was)[\s\x00,]*)*"
    r"|[，,]?(?:同比|环比|按年|按月|比|较)?(?:去年|上年|上半年|上季度)?(?:同期)?"
    r"(?:增加|增长|下降|减少|提高|上升|上涨|大增|激增|回落|多出|多|少)?了?[约近逾超]?"
)
# A rough qualifier a count may carry where the patterns below look beside it: "or about", "and some"
_ROUGHLY = r"(?:(?i:about|around|some|nearly|almost|over|more\s+than)\s+)?"
# A count sharing the noun of the number after it: "433 000 and 455 000 passengers respectively"
SHARED_NEXT = _compile(
    r"(?:\s*,\s*|\s+(?i:and|or)\s+)"
    + _ROUGHLY
    + r"(?:"
    + _grouped("sepn") + r"|\d+(?:\.\d+)?)(?![\d.,%])"
)
# "forecast to handle 2.67 million passengers, a daily average of about 223 000": the average of that noun
AVERAGE_OF = _compile(
    r"(?i:\b(?:an?|the)\s+(?P<per>daily|weekly|monthly|yearly|annual)?\s*average\s+of\s*)$"
)
# "612,323 people arrived and 936,081 left": a count doing what the sentence's counted noun does
COUNT_VERB_AFTER = _compile(
    r"\s+(?:had\s+|have\s+|has\s+|were\s+)?(?i:left|arrived|departed|came\s+in|entered|exited|crossed|"
    r"travell?ed|visited|returned|signed\s+up|registered|applied|joined)\b"
    # "... and more than 150,000 via the Spur Line": the same count at another place
    r"|\s+(?i:via|through|by\s+way\s+of)\s"
)
# "... and 713 were dissolved", "... and around 60,000 living there": what the rest of the count did
FATE_AFTER = _compile(
    r"\s+(?i:were|was|have\s+been|had\s+been)\s+(?:[a-z]+ly\s+)?[a-z]+ed\b"
    # "... working in the zone and around 60,000 living there"
    r"|\s+(?!(?:during|including|excluding|according|following|regarding|concerning|starting|beginning|"
    r"ending|totalling|totaling|making|bringing|taking)\b)[a-z]{2,}ing\b"
)
# A sentence that opens with its count: "About 1,442,328 entered under ..."
OPENS_WITH_COUNT = _compile(r"\s*(?:(?i:about|around|some|nearly|almost|approximately|over|more\s+than)\s+)?")
# "followed by the Bridge Port with 532,337 (17.3%)": a count, with its share, of what the sentence counts
WITH_SHARE = _compile(r"(?i:\bwith)\s+(?:\x00|\s)*$")
# "Lo Wu followed with 22,421", "while Heung Yuen Wai handled 9,127": a place's count of the noun before
PLACE_WITH = _compile(
    r"\b(?:[A-Z][\w'’.-]*\s+){1,5}(?:(?i:followed|came\s+next|was\s+next)\s+)?"
    r"(?i:with|handled|recorded|received|saw)\s+$"
)
SHARE_AFTER = _compile(r"\s*\(\s*\d+(?:\.\d+)?\s?%\s*\)")
# "accounted for 78.6% of them (451 440)", "49% of them, or 942,000": a count after a share of one said before
SHARE_BRACKET = _compile(
    r"(?:%|(?i:\s(?:per\s*cent|percent)))\s*(?i:of\s+(?:them|those|these|the\s+total)\s*)?(?:\(|,\s*or)\s*"
    + _ROUGHLY
    + r"$"
)
# "22.4 million visits, or about 900,000 every week": the same count restated
OR_RESTATED = _compile(r",\s*or\s+$")  # (the lead without the count's own qualifier)
# "visitors from Hong Kong (564,700) and Taiwan (88,300)": a count in brackets after the place it is from
NOUN_FROM_BRACKET = _compile(
    r"(?i:\b(?P<noun>[a-z][\w-]*s)\s+(?:from|in|at)\s+)(?:the\s+)?(?:[A-Z][\w'’.-]*\s*|of\s+){1,5}\(\s*$"
)
# "Same-day visitors (17,278,529) and overnight visitors (12,392,541) grew": the count of the noun before it
NOUN_BRACKET = _compile(
    r"\b(?P<np>(?:(?!(?:and|or|the|of|with|which|while)\s)[A-Za-z][\w-]*\s+){0,2}?(?P<noun>[a-z][\w-]*s))\s*\(\s*$"
)
AND_BRACKET = _compile(r"\)\s*(?:,|(?i:and|or))\s+(?:from\s+(?:the\s+)?)?(?:[A-Z][\w'’.-]*\s*){1,4}\(\s*$")
# A number in words opening a sentence (house styles spell those out): "Twenty-one major projects started"
OPENING_WORD = _compile(
    r"(?P<word>(?:" + "|".join(_TENS) + r")(?:-(?:" + "|".join(SMALL_NUMBERS) + r"))?|"
    + "|".join(sorted(_TEENS, key=len, reverse=True)) + r"|two|three|four|five|six|seven|eight|nine)\b",
    re.IGNORECASE,
)
# What is left of a Chinese clause that names nothing: 分别为…的117倍, 同比大增10.4倍, 当中8成
ZH_NO_SUBJECT = _compile(r"[和与及同则为的并而且共有是比]{1,3}|分别|当中|其中|[按同]比")
WORD = _compile(r"\s*([A-Za-z][A-Za-z'’&-]*)")
CLAUSE_BREAK = _compile(r"[,;:()\[\]\"“”—–\t\n，；：（）、。]|\s-\s")
# "the 17.2 billion (US$2.1 billion) collected", "114 billion (US$14.1 billion) patacas": an amount whose
# conversion says it is money, its currency named after the bracket or said before
CURRENCY_WORDS = {
    "pataca": "MOP", "patacas": "MOP", "yuan": "CNY", "renminbi": "CNY",
    "hk dollars": "HKD", "us dollars": "USD",
}  # fmt: skip
# What a clause names when its bare 万/亿 amount is money: "首批签约资金20亿", "贷款规模累计超过270亿"
MONEY_CLAUSE = _compile(
    r"(?:资金|贷款|投资|融资|金额|收入|营收|产值|总额|存款|余额|资产|资本|基金|税收|经费|拨款|预算|"
    r"[营成交销]业?额|贸易额|[进出]口额)[^，,。；;：:]*$"
)
# Nothing but a list's joint between two figures of one unit
LIST_GAP = _compile(r"\s*(?:[、,，]\s*(?:and\s+)?|and\s+|[和及与])\s*")
CONVERTED_AFTER = _compile(
    r"\s*\(\s*(?:US\s?\$|HK\$|RMB|MOP\$?|€|£|\$)\s?\d[\d.,]*\s*(?i:billion|million|trillion|bn|mn|m|b)?\s*\)"
    r"(?:\s+(?P<after>(?i:patacas?|yuan|renminbi)))?"
)
CONVERSION_GAP = _compile(
    r"^\s*(?:[(（]|,?\s*or|,?\s*i\.e\.|，?\s*(?:折合|约合|合))\s*(?:约合|折合|合|约|or|equivalent\s+to)?\s*$"
)
RIGHT_SUBJECT = _compile(r"\s+(?:worth\s+of\s+|of\s+(?:the\s+|new\s+)?|in\s+(?:new\s+)?)(?!the\b)")
# "of which electric vehicles made up 424", "with electric vehicles accounting for 1,741": a part's count
PART_LEFT = _compile(
    r"\b(?P<np>(?:(?!(?:which|whom|with|of|and|the|while)\s)[a-z][\w-]*\s+){0,2}(?P<head>[A-Za-z][\w-]*s))\s+"
    r"(?i:made\s+up|make\s+up|making\s+up|accounted\s+for|account\s+for|accounting\s+for)\s+$"
)
LEFT_NUMBER_OF = _compile(
    r"(?i:(?:(?:number|total|count|tally)\s+of|quota\s+for)\s+((?:[A-Za-z][\w'’-]*\s+){0,4}?[A-Za-z][\w'’-]*s)\b"
    r"[^,;]{0,100}$)"
    # "The number of companies registered in Qianhai, the zone on ..., grew to 124,000 ... from 100,000"
    r"|(?i:(?:number|total|count|tally)\s+of\s+((?:[A-Za-z][\w'’-]*\s+){0,4}?[A-Za-z][\w'’-]*s)\b"
    r"[^;]{0,160}?\b(?:to|from|reached|hit|totall?ed|stood\s+at)\s+$)"
    # "its population will have grown to 280,000 from 5,000": a population counts people
    r"|\b(?i:(?P<people>population)(?!\s+(?:density|growth|share|ratio|rate|of\s+(?:over|under|aged)\b)))\b(?:[^,;.]|(?<=\d)[,.](?=\d)){0,60}\b(?i:to|from|of|at|reached|hit|hits|reaches|topped)\s+$|(?P<zh>[\u4e00-\u9fff]{2,8}?)(?:数量|总数|人数|户数)[^，。；]{0,6}$"
)
# fmt: on
