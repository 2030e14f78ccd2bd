"""The national system's copy of the statistical division codes (统计用区划代码) it accepts for
this county: the province, the city, Qidong and its towns. A region code outside this list is
rejected by the monthly upload (REGION_UNKNOWN), as the real system rejects codes it does not
know."""

from __future__ import annotations

PROVINCE = "320000000000"
CITY = "320600000000"
COUNTY = "320681000000"
TOWNS = (
    "320681100000",
    "320681101000",
    "320681102000",
    "320681104000",
    "320681106000",
    "320681107000",
    "320681108000",
    "320681109000",
    "320681110000",
    "320681400000",
    "320681401000",
    "320681402000",
    "320681403000",
    "320681404000",
    "320681405000",
    "320681406000",
    "320681407000",
    "320681408000",
)
DIVISIONS = frozenset((PROVINCE, CITY, COUNTY, *TOWNS))
