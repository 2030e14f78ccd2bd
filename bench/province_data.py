"""The province data set for bench/province.py, generated inside PostgreSQL.

    households, persons, memberships, household_versions, economic_situations, determinations,
    verification_authorisations, assistance_records, monitoring_events

At 3,500,000 people: 1,500,000 households, 10,000,000 assistance records, 2,000,000 monitoring
events (every other size in the same proportions). Python's COPY of the demo generator's rows
runs at ~3,000 households/s (`lig demo load`: 460,000 households in 320 s), which would be
eight minutes for the households alone and an hour for the records; here every row is an
INSERT ... SELECT over generate_series, so the work stays inside PostgreSQL.

How the rows are made:

- Every attribute is a pure function of the row's number and the seed: `u(n, salt)` is a
  uniform draw in [0, 1) from `hashint8extended(n, salt)`, and each attribute has its own salt.
  So a table can compute another table's attributes without reading it (a record knows its
  household's category, an event its person's household), and the same seed gives the same
  rows on every run.
- Households come in blocks of three holding seven people: one of the 12 ways of splitting 7
  into three households of 1-4 members per block (sizes 1/2/3/4: 25/33/25/17 %). So the people
  number exactly 7/3 of the households (3,500,000 people = 1,500,000 households), and a person's
  household and place in it follow from the person's number alone.
- ID numbers (GB 11643): area 320681 (启东市, the county of the reference data), the birth date
  drawn for the person's place in the household (head, spouse, child; old heads with
  grandchildren; 特困 mostly old people living alone), a sequence number unique per birth date
  and sex (odd for men, even for women; 001-899), and the ISO 7064 check character. People the
  database does not know (unmatched records and events) get sequence numbers 900-999, which no
  person has.
- Shares as the demo generator's (gateway/demo/generator.py): categories (most households
  DIBAO; 特困 households are one person), statuses (92 % of covered households ACTIVE, the rest
  APPLYING, SUSPENDED, ENDED), towns weighted as gateway/demo/loader.py, 0.8 % of people
  deceased and 0.7 % with no current household (their membership ended), records of the kinds
  the household's category receives (2 % corrected: revision 1 no longer current, revision 2
  current; 0.5 % about unknown people), events of the kinds and details the comparison rules
  read (45 % hospital settlements; 1 % about unknown people).

Speed: indexes, unique and primary keys and foreign keys of the loaded tables (and the foreign
keys that point at them) are dropped first and made again after the load, each from its own
definition as `lig db upgrade` left it (pg_get_indexdef / pg_get_constraintdef); each table is
truncated and filled in one transaction, which with wal_level=minimal writes no WAL; two tables
load at once (two connections, 2 cores). The schema is then compared with what `lig db upgrade`
made (`pg_dump --schema-only`): any difference fails the run.
"""

from __future__ import annotations

import asyncio
import difflib
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from gateway.demo.generator import (
    AGENCY_FOR_KIND,
    DEMO_DATE,
    DIBAO_MONTHLY,
    MONTHLY_INCOME_BAND,
    Town,
)
from gateway.demo.loader import _TOWN_URBAN, _TOWN_WEIGHT
from gateway.demo.vocabulary import FAMILY_NAMES, GIVEN_CHARS, STREETS, VILLAGE_STEMS
from gateway.domain import idnumber
from gateway.domain.enums import Category, DisabilityType

# The province: 3,500,000 people, 1,500,000 households, 10,000,000 assistance records,
# 2,000,000 monitoring events. Other sizes keep these proportions.
PROVINCE_PEOPLE = 3_500_000
RECORDS_PER_PERSON = 10_000_000 / 3_500_000
EVENTS_PER_PERSON = 2_000_000 / 3_500_000

LOADED = (
    "households",
    "household_versions",
    "persons",
    "memberships",
    "economic_situations",
    "determinations",
    "verification_authorisations",
    "assistance_records",
    "monitoring_events",
)
GEN = "province_gen"  # the helpers' schema, dropped at the end
AREA = "320681"  # 启东市: the only county-level code of the reference data
BY = "province-bench"
DEMO = f"DATE '{DEMO_DATE.isoformat()}'"
DEMO_TIME = "TIMESTAMPTZ '2026-11-01 08:00:00+00'"

# The 12 ways of seating 7 people in three households of 1-4 members.
COMPOSITIONS = [(a, b, 7 - a - b) for a in range(1, 5) for b in range(1, 5) if 1 <= 7 - a - b <= 4]
assert len(COMPOSITIONS) == 12
COMPOSITION_ARRAYS = tuple(
    "ARRAY[" + ",".join(str(c[i]) for c in COMPOSITIONS) + "]" for i in range(3)
)

# Every attribute's own salt (added to seed * 1000): a new attribute goes at the end, so that
# the others keep their values.
SALTS = tuple(
    """comp cat status vfrom channel town urban poor old family hphone hphone2 street house
    building room village group plot joined sex age tekun_age dis dtype dgrade ill labor stage
    higher employ retired phone1 phone2 sfamily given1 given2len given2 dead dday left lday
    income medical medical2 car carvalue homes area financial auth granted signed pair unm rh
    kind rp amount amount2 pstart plen pend note unknown_age unknown_seq eunm ep ek eod eod2
    oop days fees vvalue edtype edgrade loss none_channel""".split()
)


WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # GB 11643 / ISO 7064 MOD 11-2
NOTES = ("inpatient, second tier", "outpatient, chronic illness", "catastrophic illness top-up")
# The kinds of assistance a household receives, by its category ("": any other), and weights.
KINDS: dict[str, list[tuple[str, float]]] = {
    "DIBAO": [
        ("DIBAO_ALLOWANCE", 55),
        ("MEDICAL", 20),
        ("EDUCATION", 8),
        ("DISABILITY_SUBSIDY", 7),
        ("TEMPORARY", 6),
        ("HOUSING", 4),
    ],
    "TEKUN": [("TEKUN_SUPPORT", 60), ("MEDICAL", 25), ("DISABILITY_SUBSIDY", 10), ("TEMPORARY", 5)],
    "": [
        ("MEDICAL", 45),
        ("EDUCATION", 15),
        ("TEMPORARY", 15),
        ("HOUSING", 10),
        ("EMPLOYMENT", 10),
        ("DISABILITY_SUBSIDY", 5),
    ],
}


@dataclass(frozen=True)
class Scale:
    """Row counts for a number of people, in the issue's proportions."""

    people: int

    @property
    def blocks(self) -> int:
        return -(-self.people // 7)

    @property
    def records(self) -> int:
        return round(self.people * RECORDS_PER_PERSON)

    @property
    def events(self) -> int:
        return round(self.people * EVENTS_PER_PERSON)

    @property
    def households_max(self) -> int:
        """Households of every block; the last block may hold fewer (people cut at `people`)."""
        return 3 * self.blocks


@dataclass
class Deferred:
    """What is dropped for the load and made again after it, as `lig db upgrade` defined it."""

    keys: list[tuple[str, str, str]] = field(default_factory=list)  # table, name, definition
    foreign: list[tuple[str, str, str]] = field(default_factory=list)
    indexes: list[tuple[str, str]] = field(default_factory=list)  # name, CREATE INDEX ...


# ---- SQL building blocks --------------------------------------------------------------------


def lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def pick(u: str, choices: Sequence[tuple[str, float]]) -> str:
    """A CASE that draws one of `choices` (SQL expressions, weights) with the uniform `u`."""
    total = sum(w for _, w in choices)
    acc, arms = 0.0, []
    for value, weight in choices[:-1]:
        acc += weight / total
        arms.append(f"WHEN {u} < {acc:.6f} THEN {value}")
    return f"(CASE {' '.join(arms)} ELSE {choices[-1][0]} END)"


def text_array(values: Sequence[str]) -> str:
    return "ARRAY[" + ",".join(lit(v) for v in values) + "]::text[]"


class Sql:
    """The statements for one seed and scale.

    Every draw that a CASE compares more than once is computed once, as a column of a lower
    subquery (`OFFSET 0` keeps PostgreSQL from folding the subqueries into one, which would copy
    the expression into every place it is used); the helper functions are only ever given
    columns, so that the planner inlines them (it calls, at ~5 us each, a SQL function whose
    argument is an expensive expression used twice)."""

    def __init__(self, scale: Scale, seed: int, towns: Sequence[Town]) -> None:
        self.scale, self.seed, self.towns = scale, seed, towns
        self.households = 0  # counted once the households' attributes are made

    def salt(self, name: str) -> int:
        return self.seed * 1000 + SALTS.index(name)

    def u(self, n: str, name: str) -> str:
        return f"{GEN}.u({n}, {self.salt(name)})"

    def ri(self, n: str, name: str, k: int | str) -> str:
        """A uniform integer in [0, k)."""
        return f"{GEN}.ri({n}, {self.salt(name)}, {k})"

    def helpers(self) -> list[str]:
        fn = f"CREATE FUNCTION {GEN}."
        opts = "LANGUAGE sql IMMUTABLE PARALLEL SAFE"
        weights = "+".join(f"substr($1,{i + 1},1)::int*{w}" for i, w in enumerate(WEIGHTS))
        return [
            f"CREATE SCHEMA {GEN}",
            # 53 bits of a 64-bit hash, as a double in [0, 1)
            f"{fn}u(n bigint, salt int) RETURNS float8 {opts} AS $$ SELECT "
            "((hashint8extended(n, salt::bigint) >> 11) & 9007199254740991)::float8 "
            "/ 9007199254740992.0 $$",
            f"{fn}ri(n bigint, salt int, k int) RETURNS int {opts} AS $$ "
            f"SELECT floor({GEN}.u(n, salt) * k)::int $$",
            f"{fn}id18(id17 text) RETURNS text {opts} AS $$ "
            f"SELECT $1 || substr('10X98765432', 1 + ({weights}) % 11, 1) $$",
            # a valid number nobody in the database has: sequence 900-999 (rare: not inlined)
            f"{fn}unknown_id(n bigint) RETURNS text {opts} AS $$ SELECT {GEN}.id18('{AREA}' || "
            f"to_char({DEMO} - (7300 + {self.ri('n', 'unknown_age', 18250)}), 'YYYYMMDD') || "
            f"(900 + {self.ri('n', 'unknown_seq', 100)})::text) $$",
        ]

    # -- households' attributes, once -------------------------------------------------------

    def block_sql(self, n: str) -> str:
        """The composition (1-12) of block `n` (h / 3 for a household, p / 7 for a person)."""
        return f"{self.ri(n, 'comp', 12)} + 1"

    def household_of_sql(self) -> str:
        """Household number of person p from its place o (p % 7) in its block's composition c."""
        s1, s2 = (f"({arr})[c]" for arr in COMPOSITION_ARRAYS[:2])
        return f"3 * (p / 7) + CASE WHEN o < {s1} THEN 0 WHEN o < {s1} + {s2} THEN 1 ELSE 2 END"

    def hh_sql(self) -> str:
        """province_gen.hh: each household's first person, size, category, status, dates.
        Read by every other table's statement (a hash join) instead of drawn again."""
        s1, s2, s3 = (f"({arr})[c]" for arr in COMPOSITION_ARRAYS)
        single = pick(
            "uc",
            [("'TEKUN'", 32), ("'DIBAO'", 40), ("'MARGINAL'", 10), ("'EXPENDITURE'", 4)]
            + [("'LEGACY_LOW_INCOME'", 1), ("'NONE'", 13)],
        )
        family = pick(
            "uc",
            [("'DIBAO'", 62), ("'MARGINAL'", 15), ("'EXPENDITURE'", 6)]
            + [("'LEGACY_LOW_INCOME'", 1), ("'NONE'", 16)],
        )
        status = pick(
            "us", [("'APPLYING'", 3), ("'SUSPENDED'", 2), ("'ENDED'", 3), ("'ACTIVE'", 92)]
        )
        people = self.scale.people
        return f"""
CREATE UNLOGGED TABLE {GEN}.hh AS
SELECT h, start, size, cat, old, vfrom,
    coalesce(vfrom, {DEMO} - (30 + {self.ri("h", "joined", 1471)})) AS joined,
    CASE cat WHEN 'NONE' THEN 'NOT_COVERED' WHEN 'LEGACY_LOW_INCOME' THEN 'ACTIVE'
         ELSE {status} END AS status
FROM (
    SELECT h, start, least(size0, {people} - start)::int AS size, cat, old, us,
        CASE cat WHEN 'NONE' THEN NULL WHEN 'LEGACY_LOW_INCOME' THEN DATE '2021-09-01'
             ELSE {DEMO} - (10 + {self.ri("h", "vfrom", 351)}) END AS vfrom
    FROM (
        SELECT h, start, size0, old, us,
            CASE WHEN size0 = 1 THEN {single} ELSE {family} END AS cat
        FROM (
            SELECT h, 7 * (h / 3) + CASE j WHEN 0 THEN 0 WHEN 1 THEN {s1} ELSE {s1} + {s2} END
                    AS start,
                CASE j WHEN 0 THEN {s1} WHEN 1 THEN {s2} ELSE {s3} END AS size0,
                {self.u("h", "cat")} AS uc, {self.u("h", "status")} AS us,
                {self.u("h", "old")} < 0.35 AS old
            FROM (SELECT h, (h % 3)::int AS j, {self.block_sql("h / 3")} AS c
                  FROM generate_series(0, {self.scale.households_max - 1}) AS h OFFSET 0) a
            OFFSET 0) b
        WHERE start < {people}
        OFFSET 0) c
    OFFSET 0) d
ORDER BY h
"""

    def people_sql(self) -> str:
        """Every person p with its household h and place k in it (0: the head), and the
        household's attributes; the people's own draws are added by the callers."""
        return f"""
SELECT p, hh.h, p - hh.start AS k, hh.cat, hh.old, hh.joined
FROM (SELECT p, {self.household_of_sql()} AS h
      FROM (SELECT p, (p % 7)::int AS o, {self.block_sql("p / 7")} AS c
            FROM generate_series(0, {self.scale.people - 1}) AS p OFFSET 0) a
      OFFSET 0) b
JOIN {GEN}.hh hh ON hh.h = b.h
"""

    def left_on_sql(self) -> str:
        """The day a person's membership ended (death, or leaving; never before joining), from
        columns dead, gone, joined."""
        return (
            f"CASE WHEN dead THEN greatest({DEMO} - (1 + {self.ri('p', 'dday', 700)}), "
            f"joined + 1) WHEN gone THEN greatest({DEMO} - (1 + {self.ri('p', 'lday', 365)}), "
            "joined + 1) END"
        )

    def fates_sql(self, p: str) -> str:
        """Columns dead and gone (no current household) of person `p`."""
        return (
            f"{self.u(p, 'dead')} < 0.008 AS dead, "
            f"{self.u(p, 'dead')} >= 0.008 AND {self.u(p, 'left')} < 0.007 AS gone"
        )

    # -- households --------------------------------------------------------------------------

    def households_sql(self) -> str:
        town = pick("ut", [(str(i + 1), t.weight) for i, t in enumerate(self.towns)])
        codes = text_array([t.code for t in self.towns])
        names = text_array([t.name for t in self.towns])
        shares = "ARRAY[" + ",".join(str(t.urban_share) for t in self.towns) + "]::float8[]"
        urban_addr = (
            f"'江苏省启东市' || tname || ({text_array(STREETS)})[1 + "
            f"{self.ri('h', 'street', len(STREETS))}] || (1 + {self.ri('h', 'house', 399)}) || "
            f"'号' || (1 + {self.ri('h', 'building', 30)}) || '幢' || "
            f"(101 + {self.ri('h', 'room', 1702)}) || '室'"
        )
        rural_addr = (
            f"'江苏省启东市' || tname || ({text_array(VILLAGE_STEMS)})[1 + "
            f"{self.ri('h', 'village', len(VILLAGE_STEMS))}] || '村' || "
            f"(1 + {self.ri('h', 'group', 28)}) || '组' || (1 + {self.ri('h', 'plot', 80)}) || '号'"
        )
        channel = pick(
            "uch",
            [
                ("'APPLICATION'", 70),
                ("CASE WHEN cat = 'MARGINAL' THEN 'DIRECT' ELSE 'APPLICATION' END", 8),
                ("'MONITORING'", 12),
                ("'SURVEY'", 10),
            ],
        )
        return f"""
INSERT INTO households (id, code, region_code, address, phone, urban_rural,
    former_registered_poor, category, status, valid_from, valid_until, next_review_on, channel,
    version, created_at, created_by, updated_at, updated_by)
SELECT h + 1, '{AREA}-' || lpad((h + 1)::text, 8, '0'), ({codes})[t],
    CASE WHEN urban THEN {urban_addr} ELSE {rural_addr} END,
    '1' || substr('3579', 1 + {self.ri("h", "hphone", 4)}, 1)
        || lpad({self.ri("h", "hphone2", 1_000_000_000)}::text, 9, '0'),
    CASE WHEN urban THEN 'URBAN' ELSE 'RURAL' END,
    NOT urban AND {self.u("h", "poor")} < 0.18,
    cat, status, vfrom,
    CASE WHEN cat IN ('MARGINAL', 'EXPENDITURE') THEN vfrom + 365
         WHEN cat = 'LEGACY_LOW_INCOME' THEN DATE '2024-08-31' END,
    CASE WHEN cat = 'LEGACY_LOW_INCOME' THEN DATE '2024-09-01' ELSE vfrom + 365 END,
    CASE cat WHEN 'NONE' THEN CASE WHEN {self.u("h", "none_channel")} < 0.5 THEN 'SURVEY'
                                   ELSE 'MONITORING' END
             WHEN 'LEGACY_LOW_INCOME' THEN 'APPLICATION' ELSE {channel} END,
    1, {DEMO_TIME}, '{BY}', {DEMO_TIME}, '{BY}'
FROM (
    SELECT b.*, ({names})[t] AS tname, {self.u("h", "urban")} < ({shares})[t] AS urban
    FROM (SELECT h, cat, status, vfrom, {town} AS t, uch
          FROM (SELECT h, cat, status, vfrom, {self.u("h", "town")} AS ut,
                       {self.u("h", "channel")} AS uch
                FROM {GEN}.hh OFFSET 0) a
          OFFSET 0) b
    OFFSET 0) c
ORDER BY h
"""

    def versions_sql(self) -> str:
        state = ", ".join(
            f"'{c}', {c}"
            for c in (
                "code region_code address phone urban_rural former_registered_poor category "
                "status valid_from valid_until next_review_on channel"
            ).split()
        )
        return f"""
INSERT INTO household_versions (id, household_id, version, state, changed_at, changed_by)
SELECT id, id, 1, json_build_object({state}), {DEMO_TIME}, '{BY}' FROM households ORDER BY id
"""

    def situations_sql(self) -> str:
        bands = {c.value: MONTHLY_INCOME_BAND[c] for c in Category}
        low = "CASE cat " + " ".join(f"WHEN '{c}' THEN {lo}" for c, (lo, _) in bands.items())
        high = "CASE cat " + " ".join(f"WHEN '{c}' THEN {hi}" for c, (_, hi) in bands.items())
        homes = pick("uh", [("0", 8), ("1", 90), ("2", 2)])
        return f"""
INSERT INTO economic_situations (id, household_id, recorded_on, source, annual_income,
    rigid_medical, rigid_education, rigid_disability_rehabilitation, rigid_disaster_accident,
    rigid_other, financial, car_values, homes, floor_area, homes_from_demolition,
    non_residential_acquired, subscribed_capital, refused_investigation, refused_authorisation,
    deliberate_disposal, high_consumption, refuses_work, created_at, created_by)
SELECT h + 1, h + 1, joined, 'DECLARATION', income,
    CASE WHEN cat = 'EXPENDITURE'
         THEN greatest(0, income - 900000 * size) + 100 * {self.ri("h", "medical", 5001)}
         WHEN {self.u("h", "medical2")} < 0.2 THEN 100 * (200 + {self.ri("h", "medical", 7801)})
         ELSE 0 END,
    0, 0, 0, 0, 100 * size * {self.ri("h", "financial", 4001)},
    CASE WHEN cat IN ('EXPENDITURE', 'NONE') AND {self.u("h", "car")} < 0.25
         THEN json_build_array(((15 + {self.ri("h", "carvalue", 66)}) * 1000)::text)
         ELSE '[]'::json END,
    homes, 100 * (30 + {self.ri("h", "area", 81)}) * greatest(homes, 1),
    false, false, 0, false, false, false, false, false, {DEMO_TIME}, '{BY}'
FROM (
    SELECT h, cat, size, joined, {homes} AS homes,
        round(100 * 12 * size * (({low} END) + {self.u("h", "income")}
            * (({high} END) - ({low} END))))::bigint AS income
    FROM (SELECT h, cat, size, joined, {self.u("h", "homes")} AS uh FROM {GEN}.hh OFFSET 0) a
    OFFSET 0) b
ORDER BY h
"""

    def determinations_sql(self) -> str:
        reasons = (
            '[{"rule": "demo.synthetic", "passed": true, '
            '"detail": "synthetic province bench determination, not from the rules"}]'
        )
        return f"""
INSERT INTO determinations (id, household_id, category, channel, decided_on, decided_by,
    valid_from, valid_until, reasons, standards, situation_id, created_at)
SELECT id, id, category, channel, valid_from, '{BY}', valid_from, valid_until,
    '{reasons}'::json, '{{"dibao_monthly": "{DIBAO_MONTHLY}.00"}}'::json, id, {DEMO_TIME}
FROM households WHERE category <> 'NONE' AND valid_from IS NOT NULL ORDER BY id
"""

    def authorisations_sql(self) -> str:
        return f"""
INSERT INTO verification_authorisations (id, household_id, granted, signed_on, signed_by,
    document_ref, valid_until, withdrawn_on, created_at, created_by)
SELECT h + 1, h + 1, ua >= 0.06, signed, p.name, 'SQ-' || lpad((h + 1)::text, 8, '0'),
    signed + 1095, NULL, {DEMO_TIME}, '{BY}'
FROM (SELECT h, start + 1 AS head, ua, {DEMO} - (30 + {self.ri("h", "signed", 871)}) AS signed
      FROM (SELECT h, start, {self.u("h", "auth")} AS ua FROM {GEN}.hh OFFSET 0) x
      WHERE ua >= 0.05 OFFSET 0) a
JOIN persons p ON p.id = a.head
ORDER BY h
"""

    # -- people ------------------------------------------------------------------------------

    def persons_sql(self) -> str:
        """The window numbers the people born on the same day, per sex: the sequence number."""
        # r: a day within 37 years, scaled to each range (lowest age, years the range spans)
        tekun = pick(
            "uta",
            [("60 * 365 + r * 36 / 37", 80), ("18 * 365 + r * 42 / 37", 15)]
            + [("3 * 365 + r * 13 / 37", 5)],
        )
        ages = f"""CASE
            WHEN cat = 'TEKUN' THEN {tekun}
            WHEN k = 0 AND old THEN 60 * 365 + r * 29 / 37
            WHEN k = 0 THEN 25 * 365 + r * 35 / 37
            WHEN k = 1 AND old THEN 58 * 365 + r * 31 / 37
            WHEN k = 1 THEN 23 * 365 + r
            WHEN old THEN 1 * 365 + r * 17 / 37
            ELSE r * 23 / 37 END"""
        male = "CASE k WHEN 0 THEN us < 0.6 WHEN 1 THEN us1 >= 0.6 ELSE us < 0.5 END"
        dtypes = pick("udt", [(lit(t.value), 1) for t in DisabilityType])
        employed = pick(
            "uem",
            [("'EMPLOYED'", 1), ("'FARMING'", 1), ("'SELF_EMPLOYED'", 1), ("'UNEMPLOYED'", 1)],
        )
        given = (
            f"substr({lit(GIVEN_CHARS)}, 1 + {self.ri('p', 'given1', len(GIVEN_CHARS))}, 1) || "
            f"CASE WHEN {self.u('p', 'given2len')} < 0.7 THEN substr({lit(GIVEN_CHARS)}, 1 + "
            f"{self.ri('p', 'given2', len(GIVEN_CHARS))}, 1) ELSE '' END"
        )
        family = (
            f"substr({lit(FAMILY_NAMES)}, 1 + CASE WHEN k = 1 "
            f"THEN {self.ri('p', 'sfamily', len(FAMILY_NAMES))} "
            f"ELSE {self.ri('h', 'family', len(FAMILY_NAMES))} END, 1)"
        )
        return f"""
INSERT INTO persons (id, id_number, name, phone, labor_capacity, disability_type,
    disability_grade, illness, student_stage, employment_status, deceased_on, created_at,
    created_by, updated_at, updated_by, single_person_dibao, has_capable_supporter, version)
SELECT p + 1, {GEN}.id18(id17), {family} || {given},
    CASE WHEN age >= 18 THEN '1' || substr('3579', 1 + {self.ri("p", "phone1", 4)}, 1)
        || lpad({self.ri("p", "phone2", 1_000_000_000)}::text, 9, '0') END,
    labor, dtype, grade, illness, stage,
    CASE WHEN stage <> 'NONE' THEN 'STUDENT'
         WHEN age >= 60 THEN CASE WHEN {self.u("p", "retired")} < 0.5 THEN 'RETIRED'
                                  ELSE 'FARMING' END
         WHEN age < 16 OR labor = 'NONE' THEN 'NOT_IN_LABOUR_FORCE'
         ELSE {employed} END,
    CASE WHEN dead THEN {self.left_on_sql()} END,
    {DEMO_TIME}, '{BY}', {DEMO_TIME}, '{BY}', false, cat <> 'TEKUN', 1
FROM (
    SELECT e.*, {self.u("p", "employ")} AS uem,
        '{AREA}' || to_char(born, 'YYYYMMDD')
            || lpad((2 * (rk - 1) + CASE WHEN male THEN 1 ELSE 2 END)::text, 3, '0') AS id17
    FROM (
        SELECT d.*,
            CASE WHEN age < 16 OR age >= 60 OR grade <= 2 THEN 'NONE'
                 WHEN illness = 'SEVERE' OR dtype IS NOT NULL THEN 'WEAK'
                 WHEN {self.u("p", "labor")} < 0.6667 THEN 'FULL' ELSE 'WEAK' END AS labor,
            CASE WHEN age BETWEEN 3 AND 5 THEN 'PRESCHOOL'
                 WHEN age BETWEEN 6 AND 11 THEN 'PRIMARY'
                 WHEN age BETWEEN 12 AND 14 THEN 'JUNIOR_SECONDARY'
                 WHEN age BETWEEN 15 AND 17 THEN CASE WHEN {self.u("p", "stage")} < 0.5
                     THEN 'SENIOR_SECONDARY' ELSE 'VOCATIONAL' END
                 WHEN age BETWEEN 18 AND 21 AND {self.u("p", "higher")} < 0.4 THEN 'HIGHER'
                 ELSE 'NONE' END AS stage
        FROM (
            SELECT c.*,
                CASE WHEN disabled THEN {dtypes} END AS dtype,
                CASE WHEN disabled THEN (ARRAY[1,1,2,2,3,4])[1 + {self.ri("p", "dgrade", 6)}]
                    END AS grade,
                CASE WHEN uil < CASE WHEN age >= 60 THEN 0.25 ELSE 0.08 END THEN 'CHRONIC'
                     WHEN uil < CASE WHEN age >= 60 THEN 0.33 ELSE 0.11 END THEN 'SEVERE'
                     ELSE 'NONE' END AS illness
            FROM (
                SELECT w.*, age_days / 365 AS age, {self.u("p", "ill")} AS uil,
                    {self.u("p", "dtype")} AS udt, {self.fates_sql("p")},
                    {self.u("p", "dis")} < CASE WHEN cat = 'TEKUN' THEN 0.35 ELSE 0.12 END
                        AS disabled
                FROM (
                    SELECT p, h, k, cat, joined, age_days, male, born,
                        row_number() OVER (PARTITION BY born, male ORDER BY p) AS rk
                    FROM (
                        SELECT p, h, k, cat, joined, age_days, {male} AS male,
                            {DEMO} - age_days AS born
                        FROM (
                            SELECT p, h, k, cat, joined, us, us1, {ages} AS age_days
                            FROM (
                                SELECT people.*, {self.u("p", "sex")} AS us,
                                    {self.u("p - 1", "sex")} AS us1,
                                    {self.u("p", "tekun_age")} AS uta,
                                    {self.ri("p", "age", 37 * 365)} AS r
                                FROM ({self.people_sql()}) people
                                OFFSET 0) a
                            OFFSET 0) b
                        OFFSET 0) x
                    ) w
                ORDER BY p OFFSET 0) c
            OFFSET 0) d
        OFFSET 0) e
    OFFSET 0) f
"""

    def memberships_sql(self) -> str:
        return f"""
INSERT INTO memberships (id, household_id, person_id, relation, joined_on, left_on,
    created_at, created_by, updated_at, updated_by)
SELECT p + 1, h + 1, p + 1,
    CASE WHEN k = 0 THEN 'SELF' WHEN k = 1 THEN 'SPOUSE'
         WHEN old THEN 'GRANDCHILD' ELSE 'CHILD' END,
    joined, {self.left_on_sql()}, {DEMO_TIME}, '{BY}', {DEMO_TIME}, '{BY}'
FROM (SELECT people.*, {self.fates_sql("p")} FROM ({self.people_sql()}) people OFFSET 0) a
ORDER BY p
"""

    # -- assistance records ------------------------------------------------------------------

    def records_sql(self) -> str:
        """2 % of record numbers come in pairs (revision 1, superseded; revision 2, current)
        that share their key, from which every other attribute is drawn."""
        n = self.scale.records
        kind = (
            f"CASE cat WHEN 'DIBAO' THEN {pick('uk', [(lit(k), w) for k, w in KINDS['DIBAO']])} "
            f"WHEN 'TEKUN' THEN {pick('uk', [(lit(k), w) for k, w in KINDS['TEKUN']])} "
            f"ELSE {pick('uk', [(lit(k), w) for k, w in KINDS['']])} END"
        )
        agency = "CASE kind " + " ".join(
            f"WHEN '{k.value}' THEN '{a}'" for k, a in AGENCY_FOR_KIND.items()
        )
        prefix = "CASE kind " + " ".join(
            f"WHEN '{k.value}' THEN '{a[:3].upper()}'" for k, a in AGENCY_FOR_KIND.items()
        )
        amount = f"""CASE kind
            WHEN 'DIBAO_ALLOWANCE' THEN round({int(DIBAO_MONTHLY)} * size * (20 + ua * 70))
            WHEN 'TEKUN_SUPPORT' THEN 104000
            WHEN 'MEDICAL' THEN 100 * (300 + floor(ua * 19701))
            WHEN 'EDUCATION' THEN 100 * (ARRAY[500,1000,2000])[1 + floor(ua * 3)::int]
            WHEN 'DISABILITY_SUBSIDY' THEN 100 * (ARRAY[90,180])[1 + floor(ua * 2)::int]
            WHEN 'HOUSING' THEN 100 * (1000 + floor(ua * 7001))
            WHEN 'EMPLOYMENT' THEN 100 * (500 + floor(ua * 2501))
            ELSE 100 * (500 + floor(ua * 4501)) END"""
        household_kinds = "('DIBAO_ALLOWANCE', 'TEKUN_SUPPORT', 'TEMPORARY', 'HOUSING')"
        notes = pick("un", [("NULL", 90), *((lit(x), 10 / 3) for x in NOTES)])
        return f"""
INSERT INTO assistance_records (id, agency_code, agency_record_id, revision, is_current, kind,
    household_id, person_id, amount, period_start, period_end, notes, source, received_at,
    received_by, id_number, applies_to)
SELECT r + 1, {agency} END, {prefix} END || '-P' || lpad((key + 1)::text, 10, '0'), revision,
    is_current, kind, CASE WHEN NOT unmatched THEN h + 1 END, person,
    CASE WHEN revision = 1 AND NOT is_current THEN amount * 9 / 10 ELSE amount END,
    pstart,
    CASE WHEN {self.u("key", "pend")} >= 0.05
         THEN pstart + (ARRAY[30,30,30,90,365])[1 + {self.ri("key", "plen", 5)}] END,
    {notes}, 'DEMO', {DEMO_TIME}, '{BY}',
    coalesce(ps.id_number, {GEN}.unknown_id(key)),
    CASE WHEN kind IN {household_kinds} THEN 'HOUSEHOLD' ELSE 'PERSON' END
FROM (
    SELECT b.*, ({amount})::bigint AS amount, {self.u("key", "note")} AS un,
        CASE WHEN unmatched THEN NULL
             WHEN kind IN {household_kinds} THEN start + 1
             ELSE start + 1 + {self.ri("key", "rp", "size")} END AS person,
        {DEMO} - {self.ri("key", "pstart", 721)} AS pstart
    FROM (
        SELECT a.*, CASE WHEN unmatched THEN 'MEDICAL' ELSE {kind} END AS kind
        FROM (
            SELECT z.*, hh.cat, hh.size, hh.start, {self.u("key", "unm")} < 0.005 AS unmatched,
                {self.u("key", "kind")} AS uk, {self.u("key", "amount")} AS ua
            FROM (
                SELECT r, key, revision, is_current, {self.ri("key", "rh", self.households)} AS h
                FROM (
                    SELECT r,
                        CASE WHEN paired THEN r - r % 2 ELSE r END AS key,
                        CASE WHEN paired THEN 1 + r % 2 ELSE 1 END AS revision,
                        NOT paired OR r % 2 = 1 AS is_current
                    FROM (SELECT r, {self.u("r / 2", "pair")} < 0.02
                                 AND r - r % 2 + 1 < {n} AS paired
                          FROM generate_series(0, {n - 1}) AS r OFFSET 0) x
                    OFFSET 0) y
                OFFSET 0) z
            JOIN {GEN}.hh hh ON hh.h = z.h
            OFFSET 0) a
        OFFSET 0) b
    OFFSET 0) c
LEFT JOIN persons ps ON ps.id = c.person
ORDER BY r
"""

    # -- monitoring events -------------------------------------------------------------------

    def events_sql(self) -> str:
        n = self.scale.events
        kind = """CASE WHEN unmatched THEN 'HOSPITAL_SETTLEMENT'
            WHEN uk < 0.45 THEN 'HOSPITAL_SETTLEMENT'
            WHEN uk < 0.6 AND ps.student_stage <> 'NONE' THEN 'SCHOOL_ENROLMENT'
            WHEN uk < 0.7 THEN 'VEHICLE_REGISTERED'
            WHEN uk < 0.8 THEN 'DISABILITY_CERTIFIED'
            WHEN uk < 0.9 THEN 'UNEMPLOYMENT_REGISTERED'
            ELSE 'DISASTER_LOSS' END"""
        dtypes = pick("udt", [(lit(t.value), 1) for t in DisabilityType])
        details = f"""CASE kind
            WHEN 'HOSPITAL_SETTLEMENT' THEN CASE WHEN unmatched
                THEN json_build_object('out_of_pocket', (2000 + {self.ri("e", "oop", 58001)})
                    || '.00')
                ELSE json_build_object('out_of_pocket', (800 + {self.ri("e", "oop", 79201)})
                    || '.00', 'days', 2 + {self.ri("e", "days", 39)}) END
            WHEN 'SCHOOL_ENROLMENT' THEN json_build_object('stage', stage,
                'fees', {self.ri("e", "fees", 9001)} || '.00')
            WHEN 'VEHICLE_REGISTERED' THEN json_build_object('value',
                (20000 + {self.ri("e", "vvalue", 160001)}) || '.00')
            WHEN 'DISABILITY_CERTIFIED' THEN json_build_object('disability_type', {dtypes},
                'disability_grade', 1 + {self.ri("e", "edgrade", 4)})
            WHEN 'UNEMPLOYMENT_REGISTERED' THEN '{{}}'::json
            ELSE json_build_object('amount', (1000 + {self.ri("e", "loss", 49001)}) || '.00',
                'cause', 'NATURAL_DISASTER') END"""
        agency = (
            "CASE kind WHEN 'HOSPITAL_SETTLEMENT' THEN 'medical-security' "
            "WHEN 'SCHOOL_ENROLMENT' THEN 'education' "
            "WHEN 'VEHICLE_REGISTERED' THEN 'public-security' "
            "WHEN 'DISABILITY_CERTIFIED' THEN 'disabled-federation' "
            "WHEN 'UNEMPLOYMENT_REGISTERED' THEN 'hr-social-security' ELSE 'emergency' END"
        )
        return f"""
INSERT INTO monitoring_events (id, kind, agency_code, agency_event_id, revision, is_current,
    id_number, person_id, household_id, occurred_on, details, source, received_at, received_by)
SELECT e + 1, kind, agency,
    'EV-' || upper(left(agency, 3)) || '-P' || lpad((e + 1)::text, 10, '0'),
    1, true, id_number, person, household, occurred, {details}, 'DEMO', {DEMO_TIME}, '{BY}'
FROM (
    SELECT j.*, {agency} AS agency, {self.u("e", "edtype")} AS udt
    FROM (
        SELECT e, unmatched, {kind} AS kind, ps.student_stage AS stage,
            coalesce(ps.id_number, {GEN}.unknown_id(e)) AS id_number,
            CASE WHEN NOT unmatched THEN p + 1 END AS person,
            CASE WHEN NOT unmatched AND NOT dead AND NOT gone THEN h + 1 END AS household,
            CASE WHEN unmatched THEN {DEMO} - (1 + {self.ri("e", "eod2", 60)})
                 ELSE {DEMO} - (1 + {self.ri("e", "eod", 300)}) END AS occurred
        FROM (
            SELECT e, p, unmatched, uk, {self.household_of_sql()} AS h, {self.fates_sql("p")}
            FROM (SELECT e, p, (p % 7)::int AS o, {self.block_sql("p / 7")} AS c,
                         {self.u("e", "eunm")} < 0.01 AS unmatched, {self.u("e", "ek")} AS uk
                  FROM (SELECT e, {self.ri("e", "ep", self.scale.people)}::bigint AS p
                        FROM generate_series(0, {n - 1}) AS e OFFSET 0) x
                  OFFSET 0) a
            OFFSET 0) b
        LEFT JOIN persons ps ON ps.id = CASE WHEN NOT b.unmatched THEN b.p + 1 END
        OFFSET 0) j
    OFFSET 0) k
ORDER BY e
"""


# ---- Loading ----------------------------------------------------------------------------------

COUNTY = "320681000000"
# Per session: room for the persons window's sort and the joins to persons in memory; index
# builds one core each (two run at once, one per connection).
SESSION = (
    "SET work_mem = '512MB'",
    "SET maintenance_work_mem = '1GB'",
    "SET max_parallel_maintenance_workers = 0",
    "SET max_parallel_workers_per_gather = 0",
)


@dataclass(frozen=True)
class Task:
    name: str
    statements: tuple[str, ...]
    after: tuple[str, ...] = ()


Log = Callable[[str], None]


async def towns(conn: asyncpg.Connection) -> list[Town]:
    """The county's towns and their weights, as gateway/demo/loader.py reads them."""
    rows = await conn.fetch(
        "SELECT code, name FROM regions WHERE parent_code = $1 ORDER BY code", COUNTY
    )
    return [
        Town(
            r["code"],
            r["name"],
            _TOWN_WEIGHT.get(r["name"], 0.15),
            _TOWN_URBAN.get(r["name"], 0.15),
        )
        for r in rows
    ]


async def deferred(conn: asyncpg.Connection) -> Deferred:
    """The keys, foreign keys and indexes to drop for the load, with their definitions."""
    tables = list(LOADED)
    keys = await conn.fetch(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype IN ('p', 'u') AND conrelid = ANY($1::text[]::regclass[]) ORDER BY 1, 2",
        tables,
    )
    foreign = await conn.fetch(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND (conrelid = ANY($1::text[]::regclass[]) "
        "OR confrelid = ANY($1::text[]::regclass[])) ORDER BY 1, 2",
        tables,
    )
    indexes = await conn.fetch(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = ANY($1::text[]::regclass[]) AND NOT EXISTS (SELECT 1 FROM "
        "pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x')) "
        "ORDER BY 1",
        tables,
    )
    return Deferred(
        keys=[tuple(r) for r in keys],
        foreign=[tuple(r) for r in foreign],
        indexes=[tuple(r) for r in indexes],
    )


async def drop(conn: asyncpg.Connection, d: Deferred) -> None:
    for table, name, _ in d.foreign + d.keys:
        await conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    for name, _ in d.indexes:
        await conn.execute(f"DROP INDEX {name}")


def restore_tasks(d: Deferred) -> tuple[list[Task], list[Task]]:
    """Keys first (the foreign keys need them), then foreign keys and indexes; the biggest
    tables first, so that the two connections finish together."""
    order = {t: i for i, t in enumerate(reversed(LOADED))}
    keys: dict[str, list[str]] = {}
    for table, name, definition in d.keys:
        keys.setdefault(table, []).append(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    first = [
        Task(f"keys of {t}", tuple(s))
        for t, s in sorted(keys.items(), key=lambda x: order.get(x[0], 99))
    ]
    then = [
        Task(f"index {name}", (definition,))
        for name, definition in sorted(
            d.indexes, key=lambda x: order.get(x[1].split(" ON public.")[1].split()[0], 99)
        )
    ] + [
        Task(f"foreign key {name}", (f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}",))
        for table, name, definition in d.foreign
    ]
    return first, then


def load_tasks(sql: Sql) -> list[Task]:
    """Each table truncated and filled in one transaction (no WAL with wal_level=minimal), in
    the order the two connections should take them: persons first (records, events and
    authorisations read their ID numbers and names), the biggest tables as early as they can."""

    def fill(table: str, insert: str) -> tuple[str, ...]:
        return ("BEGIN", f"TRUNCATE {table}", insert, "COMMIT", f"ANALYZE {table}")

    return [
        Task("persons", fill("persons", sql.persons_sql())),
        Task("households", fill("households", sql.households_sql())),
        Task("assistance_records", fill("assistance_records", sql.records_sql()), ("persons",)),
        Task("memberships", fill("memberships", sql.memberships_sql())),
        Task("monitoring_events", fill("monitoring_events", sql.events_sql()), ("persons",)),
        Task("household_versions", fill("household_versions", sql.versions_sql()), ("households",)),
        Task(
            "economic_situations",
            fill("economic_situations", sql.situations_sql()),
            ("households",),
        ),
        Task(
            "verification_authorisations",
            fill("verification_authorisations", sql.authorisations_sql()),
            ("persons",),
        ),
        Task("determinations", fill("determinations", sql.determinations_sql()), ("households",)),
    ]


async def run_tasks(dsn: str, tasks: list[Task], log: Log, workers: int = 2) -> dict[str, float]:
    """Run the tasks on `workers` connections, each task once the ones it comes after are done;
    answers each task's seconds. The first failure stops every worker."""
    pending = list(tasks)
    done: set[str] = set()
    seconds: dict[str, float] = {}
    failed: list[BaseException] = []

    async def worker() -> None:
        conn = await asyncpg.connect(dsn, command_timeout=None)
        try:
            for statement in SESSION:
                await conn.execute(statement)
            while pending and not failed:
                task = next((t for t in pending if set(t.after) <= done), None)
                if task is None:  # waiting for the other connection's task
                    await asyncio.sleep(0.1)
                    continue
                pending.remove(task)
                start = time.perf_counter()
                try:
                    for statement in task.statements:
                        await conn.execute(statement)
                except BaseException as exc:
                    failed.append(exc)
                    raise
                seconds[task.name] = time.perf_counter() - start
                done.add(task.name)
                log(f"  {task.name}: {seconds[task.name]:.1f} s")
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(workers)))
    return seconds


async def finish(conn: asyncpg.Connection) -> dict[str, int]:
    """Identity sequences past the ids given here (as gateway/demo/loader.py), the helpers
    dropped; answers the rows per table."""
    rows = {}
    for table in LOADED:
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
        )
        rows[table] = int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
    await conn.execute(f"DROP SCHEMA {GEN} CASCADE")
    return rows


async def sanity(conn: asyncpg.Connection, scale: Scale, households: int) -> list[str]:
    """What would make the data wrong for the workloads: counts, ID numbers, sequence room."""
    problems = []
    persons = await conn.fetchval("SELECT count(*) FROM persons")
    if persons != scale.people:
        problems.append(f"{persons} persons, expected {scale.people}")
    found = await conn.fetchval("SELECT count(*) FROM households")
    if found != households:
        problems.append(f"{found} households, expected {households}")
    top = await conn.fetchval("SELECT max(substr(id_number, 15, 3)::int) FROM persons")
    if top is not None and top >= 900:
        problems.append(f"sequence number {top} reached the unknown people's range (900-999)")
    sample = await conn.fetch(
        "SELECT id_number FROM persons TABLESAMPLE SYSTEM (1) REPEATABLE (7) LIMIT 5000"
    )
    bad = [r[0] for r in sample if not idnumber.is_valid(r[0])]
    if bad:
        problems.append(f"{len(bad)} invalid ID numbers of {len(sample)} sampled, e.g. {bad[:3]}")
    return problems


def schema_dump(pg_bin: str, port: int) -> str:
    """The public schema as pg_dump prints it (no data)."""
    cmd = [f"{pg_bin}/pg_dump", "--schema-only", "--schema=public", "--no-owner"]
    cmd += ["-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "lig"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=300).stdout
    # pg_dump's \restrict lines carry a random key per run: not part of the schema.
    return "".join(
        ln for ln in out.splitlines(True) if not ln.startswith(("\\restrict", "\\unrestrict"))
    )


def diff(before: str, after: str) -> str:
    return "".join(
        difflib.unified_diff(before.splitlines(True), after.splitlines(True), "upgrade", "loaded")
    )


async def generate(
    dsn: str, pg_bin: str, port: int, scale: Scale, seed: int, log: Log
) -> dict[str, Any]:
    """Fill the migrated, empty database; answers timings, rows and the schema check."""
    out: dict[str, Any] = {"steps": {}}
    before = schema_dump(pg_bin, port)
    conn = await asyncpg.connect(dsn, command_timeout=None)
    try:
        sql = Sql(scale, seed, await towns(conn))
        start = time.perf_counter()
        for statement in sql.helpers():
            await conn.execute(statement)
        t = time.perf_counter()
        await conn.execute(sql.hh_sql())
        await conn.execute(f"ANALYZE {GEN}.hh")
        sql.households = int(await conn.fetchval(f"SELECT count(*) FROM {GEN}.hh"))
        out["steps"]["households' attributes"] = time.perf_counter() - t
        d = await deferred(conn)
        await drop(conn, d)
        out["deferred"] = {
            "keys": len(d.keys),
            "foreign": len(d.foreign),
            "indexes": len(d.indexes),
        }
        log(
            f"generating {scale.people:,} people, {sql.households:,} households, "
            f"{scale.records:,} records, {scale.events:,} events (seed {seed})"
        )
        t = time.perf_counter()
        out["steps"]["tables"] = await run_tasks(dsn, load_tasks(sql), log)
        out["tables_s"] = time.perf_counter() - t
        log(f"tables in {out['tables_s']:.0f} s; keys, foreign keys and indexes")
        t = time.perf_counter()
        first, then = restore_tasks(d)
        out["steps"]["keys"] = await run_tasks(dsn, first, log)
        out["steps"]["indexes"] = await run_tasks(dsn, then, log)
        out["constraints_s"] = time.perf_counter() - t
        out["problems"] = await sanity(conn, scale, sql.households)
        out["rows"] = await finish(conn)
        out["load_s"] = time.perf_counter() - start
    finally:
        await conn.close()
    after = schema_dump(pg_bin, port)
    out["schema_diff"] = diff(before, after)
    out["schema_equal"] = not out["schema_diff"]
    return out
