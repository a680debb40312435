#!/usr/bin/env python3
"""Generates plugins/sla/data/holidays.bin, the SLA plugin's holiday data, from python-holidays.

Source: PyPI `holidays` (python-holidays, MIT licence), version PINNED below. Rerun from the
repository root with:

    python3 -m pip install --target target/python-holidays-0.108 holidays==0.108
    PYTHONPATH=target/python-holidays-0.108 python3 plugins/sla/data/generate.py

For every country python-holidays supports (ISO 3166-1 alpha-2 codes) and every subdivision of
it, the holidays of 1970..=2100 (or of the years python-holidays covers, if fewer) are read in
the country's default language. Per holiday name the script then infers rules that reproduce
those dates exactly (fixed date, Western or Orthodox Easter plus days, the first weekday on or
after a date, the last weekday of a month; each with a shift per weekday for observed and
substitute days, for a range of years) and keeps the dates no rule reproduces as explicit date
lists (lunar and Islamic holidays, decrees). Make-up working days come from python-holidays'
`weekend_workdays` (China, Russia and a dozen more). Before the inference, weft's deliberate
differences (`CATEGORIES` and `override()` below, each with its reason) are applied, and after it
the script checks that the rules and lists give back exactly the dates read. The Rust side
(`src/holidays.rs`) reads the file; `tests/python_holidays.rs` checks it against python-holidays
itself.

The binary layout is described in `src/holiday_data.rs`. Read with python-holidays 0.108 this
writes 251 countries, 884 sets (countries and subdivisions) and 447,415 bytes.
"""

import collections
import datetime
import re
import struct
import sys
import warnings
from pathlib import Path

PINNED = "0.108"
FIRST_YEAR, LAST_YEAR = 1970, 2100
OUT = Path(__file__).with_name("holidays.bin")

import holidays  # noqa: E402

if holidays.__version__ != PINNED:
    sys.exit(f"generate.py reads python-holidays {PINNED}, found {holidays.__version__}")

# Countries whose holidays depend so much on the region that weft asks for one (a calendar of
# the country without a region is a configuration error).
REGION_REQUIRED = {"GB", "AU", "CH"}

# Which python-holidays categories make a set's days off, where `public` alone is not what a
# business closes on. (country, region or None) -> categories.
CATEGORIES = {
    # Federally regulated workplaces (Canada Labour Code s. 166): python-holidays files the
    # federal days beyond the five national ones under `government`.
    ("CA", None): ("public", "government"),
    # Liberation Day is a day off every year since 1990; python-holidays files the
    # non-lustrum years under `optional`.
    ("NL", None): ("public", "optional"),
}

# weft's additions to the make-up-day-free python data, with their reasons. Each function takes
# (country, region, {date: name}) for all years and changes the dict in place.

CN_OFFICIAL = {
    # 国务院办公厅关于2025年/2026年部分节假日安排的通知: the whole holiday periods, weekend days
    # inside them included (python-holidays lists only the weekdays of each period).
    2025: [("元旦", "01-01"), ("春节", "01-28 01-29 01-30 01-31 02-01 02-02 02-03 02-04"),
           ("清明节", "04-04 04-05 04-06"), ("劳动节", "05-01 05-02 05-03 05-04 05-05"),
           ("端午节", "05-31 06-01 06-02"),
           ("国庆节、中秋节", "10-01 10-02 10-03 10-04 10-05 10-06 10-07 10-08")],
    2026: [("元旦", "01-01 01-02 01-03"),
           ("春节", "02-15 02-16 02-17 02-18 02-19 02-20 02-21 02-22 02-23"),
           ("清明节", "04-04 04-05 04-06"), ("劳动节", "05-01 05-02 05-03 05-04 05-05"),
           ("端午节", "06-19 06-20 06-21"), ("中秋节", "09-25 09-26 09-27"),
           ("国庆节", "10-01 10-02 10-03 10-04 10-05 10-06 10-07")],
}


def override_cn(days):
    for year, rows in CN_OFFICIAL.items():
        for d in [d for d in days if d.year == year]:
            del days[d]
        for name, dates in rows:
            for md in dates.split():
                days[datetime.date.fromisoformat(f"{year}-{md}")] = name


def drop_moved_weekend_days(days, suffixes):
    """A weekend holiday whose day off moved to a weekday (a substitute or observed day of the
    same name) is no longer a day off itself: gov.uk and the U.S. OPM list only the moved day."""
    moved = set()
    for d, name in days.items():
        for suffix in suffixes:
            if name.endswith(suffix):
                moved.add(name[: -len(suffix)].strip())
    for d in [d for d, n in days.items() if d.weekday() >= 5]:
        names = [n.strip() for n in days[d].split(";")]
        if all(n in moved and _has_moved(days, d, n, suffixes) for n in names):
            del days[d]


def _has_moved(days, d, name, suffixes):
    for delta in range(1, 4):
        other = days.get(d + datetime.timedelta(days=delta), "") + ";" + days.get(
            d - datetime.timedelta(days=delta), ""
        )
        if any(f"{name} {s.strip()}" in other or f"{name}{s}" in other for s in suffixes):
            return True
    return False


def remove_names(days, pattern):
    for d in list(days):
        kept = [n for n in days[d].split("; ") if not re.search(pattern, n)]
        if kept:
            days[d] = "; ".join(kept)
        else:
            del days[d]


ES_NATIONAL = ["01-01", "01-06", "05-01", "08-15", "10-12", "11-01", "12-06", "12-08", "12-25"]


def override(country, region, days, years):
    if country == "CN":
        override_cn(days)
    elif country == "CH" and region == "ZH":
        # Berchtoldstag is a public holiday in the canton of Zurich (zh.ch, Ruhetagsgesetz);
        # python-holidays 0.108 lacks it.
        for y in years:
            days.setdefault(datetime.date(y, 1, 2), "Berchtoldstag")
    elif country == "NL":
        # Good Friday is no general day off (not in the Algemene termijnenwet).
        remove_names(days, r"(?i)^goede vrijdag$")
    elif country == "GB":
        drop_moved_weekend_days(days, [" (substitute day)", " (observed)"])
        # A conditional one-off (only if Scotland reaches the final): not a day off yet.
        remove_names(days, r"FIFA World Cup")
    elif country == "US" and region is None:
        drop_moved_weekend_days(days, [" (observed)"])
    elif country == "ES" and region is None:
        # The fiestas nacionales are holidays on their date even on a Sunday (BOE); the move
        # to Monday is each region's choice.
        for y in years:
            for md in ES_NATIONAL:
                d = datetime.date.fromisoformat(f"{y}-{md}")
                if d.weekday() == 6 and d not in days:
                    days[d] = "Fiesta nacional"
    elif country == "IT":
        # The Giornata dell'Unità nazionale is a commemoration, not a day off.
        remove_names(days, r"(?i)national unity day|unità nazionale")
    elif country == "AU" and region == "NSW":
        # Public Holidays Act 2010 (NSW): no additional day when Anzac Day is on a weekend.
        remove_names(days, r"(?i)^anzac day \(observed\)$")


# ---------------------------------------------------------------------------------------------
# Rules

ORD0 = datetime.date(1970, 1, 1).toordinal()
LO, HI = datetime.date(FIRST_YEAR, 1, 1), datetime.date(LAST_YEAR, 12, 31)


def easter_western(y):
    a, b, c = y % 19, y // 100, y % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l) // 451
    month = (h + l - 7 * m + 114) // 31
    day = (h + l - 7 * m + 114) % 31 + 1
    return datetime.date(y, month, day)


def easter_orthodox(y):
    a, b, c = y % 4, y % 7, y % 19
    d = (19 * c + 15) % 30
    e = (2 * a + 4 * b - d + 34) % 7
    month = (d + e + 114) // 31
    day = (d + e + 114) % 31 + 1
    julian = datetime.date(y, month, day)  # as if Gregorian, then shifted
    return julian + datetime.timedelta(days=y // 100 - y // 400 - 2)


EASTER = {y: easter_western(y) for y in range(FIRST_YEAR, LAST_YEAR + 1)}
ORTHODOX = {y: easter_orthodox(y) for y in range(FIRST_YEAR, LAST_YEAR + 1)}
for y, d in [(2024, "2024-03-31"), (2025, "2025-04-20"), (2026, "2026-04-05")]:
    assert str(EASTER[y]) == d
for y, d in [(2024, "2024-05-05"), (2025, "2025-04-20"), (2026, "2026-04-12"), (2100, "2100-05-02")]:
    assert str(ORTHODOX[y]) == d, (y, ORTHODOX[y])

FIXED, EASTER_K, ORTHODOX_K, ON_OR_AFTER, LAST_WEEKDAY, SERIES = range(6)


def last_day(y, m):
    return (datetime.date(y + (m == 12), m % 12 + 1, 1) - datetime.timedelta(days=1)).day


def base_date(base, y):
    kind, a, b, c = base
    try:
        if kind == FIXED:
            return datetime.date(y, a, b)
        if kind == EASTER_K:
            return EASTER[y] + datetime.timedelta(days=c)
        if kind == ORTHODOX_K:
            return ORTHODOX[y] + datetime.timedelta(days=c)
        if kind == ON_OR_AFTER:
            d = datetime.date(y, a, b)
            return d + datetime.timedelta(days=(c - d.weekday()) % 7)
        if kind == LAST_WEEKDAY:
            d = datetime.date(y, a, last_day(y, a))
            return d - datetime.timedelta(days=(d.weekday() - c) % 7)
    except ValueError:  # 29 February in a common year
        return None
    raise AssertionError(base)


def bases_of(d):
    """Every base rule whose date in d's year is d."""
    y = d.year
    if y not in EASTER:
        return []
    out = [(FIXED, d.month, d.day, 0)]
    off = (d - EASTER[y]).days
    if -70 <= off <= 120:
        out.append((EASTER_K, 0, 0, off))
    off = (d - ORTHODOX[y]).days
    if -70 <= off <= 120:
        out.append((ORTHODOX_K, 0, 0, off))
    for start in range(max(1, d.day - 6), min(d.day, 28) + 1):
        out.append((ON_OR_AFTER, d.month, start, d.weekday()))
    if d.day + 7 > last_day(y, d.month):
        out.append((LAST_WEEKDAY, d.month, 0, d.weekday()))
    return out


NONE = 99  # "no date on this weekday" in a shift table
YEARS = range(FIRST_YEAR, LAST_YEAR + 1)


def infer_shift(base, dates):
    """The shift per weekday of the base date that best explains `dates`."""
    votes = [collections.Counter() for _ in range(7)]
    for y in YEARS:
        b = base_date(base, y)
        if b is None:
            continue
        found = [k for k in (0, 1, -1, 2, -2, 3, -3) if b + datetime.timedelta(days=k) in dates]
        votes[b.weekday()][found[0] if found else NONE] += 1
    return tuple(v.most_common(1)[0][0] if v else NONE for v in votes)


def rule_date(base, shift, y):
    b = base_date(base, y)
    if b is None or shift[b.weekday()] == NONE:
        return None
    return b + datetime.timedelta(days=shift[b.weekday()])


def best_run(base, shift, dates, covered):
    """The longest-scoring run of base years without a wrong date: (score, first, last)."""
    best, start, score = (0, 0, 0), None, 0
    for y in list(YEARS) + [None]:
        d = None if y is None else rule_date(base, shift, y)
        wrong = y is None or (d is not None and LO <= d <= HI and d not in dates)
        if wrong:
            if start is not None and score > best[0]:
                best = (score, start, last)
            start, score = None, 0
            continue
        if start is None:
            start = y
        last = y
        if d is not None and d in dates and d not in covered:
            score += 1
    return best


def infer(dates):
    """Rules (base, shift, first, last) and the dates left over, for one holiday name."""
    dates = set(dates)
    covered, rules = set(), []
    while len(dates - covered) >= 2 and len(rules) < 24:
        votes = collections.Counter()
        # Sorted: dates hash differently from run to run, and the order breaks ties.
        for d in sorted(dates - covered):
            for k in (0, 1, -1, 2, -2, 3, -3):
                for base in bases_of(d - datetime.timedelta(days=k)):
                    votes[base] += 1 if k == 0 else 0.9
        best = None
        for base, _ in votes.most_common(10):
            for shift in dict.fromkeys([infer_shift(base, dates), (0,) * 7]):
                score, first, last = best_run(base, shift, dates, covered)
                if best is None or score > best[0]:
                    best = (score, base, shift, first, last)
        if best is None or best[0] < 2:
            break
        _, base, shift, first, last = best
        rules.append((base, shift, first, last))
        for y in range(first, last + 1):
            d = rule_date(base, shift, y)
            if d is not None and d in dates:
                covered.add(d)
    return rules, sorted(dates - covered)


# ---------------------------------------------------------------------------------------------
# Reading python-holidays


def read(country, region):
    cls = holidays.country_holidays(country).__class__
    categories = CATEGORIES.get((country, region), ("public",))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        h = holidays.country_holidays(
            country,
            subdiv=region,
            years=YEARS,
            language=cls.default_language,
            categories=categories,
        )
    first, last = max(FIRST_YEAR, cls.start_year), min(LAST_YEAR, cls.end_year)
    for w in caught:
        m = re.search(r"available only from (\d+) to (\d+)", str(w.message))
        if m:
            first, last = max(first, int(m.group(1))), min(last, int(m.group(2)))
    years = range(first, last + 1)
    days = {d: n for d, n in h.items() if first <= d.year <= last}
    override(country, region, days, years)
    working = sorted(d for d in h.weekend_workdays if first <= d.year <= last and d not in days)
    return first, last, days, working


def main():
    supported = holidays.list_supported_countries()
    countries = sorted(c for c in supported if len(c) == 2)
    if len(sys.argv) > 1:  # a few countries only, for trying changes out
        countries = [c for c in countries if c in sys.argv[1:]]
    strings, string_index = [], {}

    def s(text):
        if text not in string_index:
            string_index[text] = len(strings)
            strings.append(text)
        return string_index[text]

    shifts, shift_index = [], {}
    entries, entry_index = [], {}
    series, series_index = [], {}
    cache = {}
    sets = []

    def series_of(dates):
        key = tuple(d.toordinal() - ORD0 for d in dates)
        if key not in series_index:
            series_index[key] = len(series)
            series.append(key)
        return series_index[key]

    def entry(e):
        if e not in entry_index:
            entry_index[e] = len(entries)
            entries.append(e)
        return entry_index[e]

    total_rules = total_explicit = 0
    for country in countries:
        cls = holidays.country_holidays(country).__class__
        regions = [None] + list(cls.subdivisions)
        for region in regions:
            first, last, days, working = read(country, region)
            by_name = collections.defaultdict(set)
            for d, names in days.items():
                for name in names.split("; "):
                    by_name[name].add(d)
            ids = []
            for name, dates in sorted(by_name.items()):
                key = (name, frozenset(dates))
                if key not in cache:
                    cache[key] = infer(dates)
                rules, rest = cache[key]
                # The rules and the leftover dates must give exactly python-holidays' dates.
                again = set(rest)
                for base, shift, a, b in rules:
                    for y in range(a, b + 1):
                        d = rule_date(base, shift, y)
                        if d is not None and first <= d.year <= last:
                            again.add(d)
                assert again == dates, (country, region, name, sorted(again ^ dates)[:5])
                for base, shift, a, b in rules:
                    if shift not in shift_index:
                        shift_index[shift] = len(shifts)
                        shifts.append(shift)
                    ids.append(entry((base, shift_index[shift], a, b, s(name))))
                    total_rules += 1
                if rest:
                    ids.append(entry(((SERIES, series_of(rest), 0, 0), 0, first, last, s(name))))
                    total_explicit += len(rest)
            work = series_of(working) if working else 0xFFFF
            aliases = []
            if country == "FR" and region == "6AE":
                # weft's earlier codes: the départements of Bas-Rhin and Haut-Rhin.
                aliases = ["67", "68"]
            sets.append(
                (
                    s(country),
                    s(region) if region else 0xFFFF,
                    first,
                    last,
                    sorted(set(ids)),
                    work,
                    [s(a) for a in aliases],
                )
            )
        print(f"{country}: {len(regions)} sets", file=sys.stderr)

    out = bytearray(b"WEFTHOL1")
    out += struct.pack("<HH", FIRST_YEAR, LAST_YEAR)
    out += struct.pack("<I", len(strings))
    for text in strings:
        raw = text.encode()
        out += struct.pack("<H", len(raw)) + raw
    out += struct.pack("<H", len(shifts))
    for shift in shifts:
        out += bytes(k & 0xFF for k in shift)
    out += struct.pack("<I", len(series))
    for key in series:
        out += struct.pack("<H", len(key))
        previous = 0
        for day in key:  # deltas as LEB128: most gaps are small
            gap = day - previous
            previous = day
            while True:
                byte = gap & 0x7F
                gap >>= 7
                out.append(byte | (0x80 if gap else 0))
                if not gap:
                    break
    out += struct.pack("<I", len(entries))
    for (kind, a, b, c), shift, first, last, name in entries:
        if kind == SERIES:
            out += struct.pack("<BHBBBBH", kind, a, 0, 0, first - FIRST_YEAR, last - FIRST_YEAR, name)
        else:
            out += struct.pack("<BBBbBBBH", kind, a, b, c, shift, first - FIRST_YEAR, last - FIRST_YEAR, name)
    out += struct.pack("<H", len(sets))
    for country, region, first, last, ids, work, aliases in sets:
        out += struct.pack("<HHBBHH", country, region, first - FIRST_YEAR, last - FIRST_YEAR, work, len(ids))
        for i in ids:
            out += struct.pack("<H", i)
        out += struct.pack("<B", len(aliases))
        for alias in aliases:
            out += struct.pack("<H", alias)
    # Region-required countries last, as codes.
    out += struct.pack("<B", len(REGION_REQUIRED))
    for code in sorted(REGION_REQUIRED):
        out += code.encode()
    OUT.write_bytes(bytes(out))
    print(
        f"{len(countries)} countries, {len(sets)} sets, {len(entries)} entries, {len(shifts)} shifts, "
        f"{len(series)} series, {len(strings)} strings; {total_rules} rule uses, "
        f"{total_explicit} explicit dates; {len(out)} bytes -> {OUT}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
