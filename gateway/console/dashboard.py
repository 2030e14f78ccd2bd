"""The dashboard: the low-income population by category and by town, open warnings by kind and
age, overdue warnings by agency — each as a chart with the same numbers in a table under it.

Unlike the other pages it does not ask GraphQL: it shows counts only, no personal data, read by
`statistics` under the same region and assignment rules the API applies (see its docstring).
Which figures a person gets follows their scopes, as in the API: the population with
`household:read`, the warnings with `warning:read`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from gateway.console import charts, statistics
from gateway.console.i18n import Translator
from gateway.console.rendering import language_of, render
from gateway.console.statistics import AGE_BUCKETS, AgencyOverdue, Population, Warnings
from gateway.console.web import Me, page
from gateway.monitoring.access import assigned_filter

# Beyond this many towns the chart shows the ones with the most people; the table shows all.
TOWNS_CHARTED = 20


def population_charts(t: Translator, found: Population) -> dict[str, Markup]:
    categories = charts.grouped_bar_chart(
        [t.term("category", c.category) for c in found.categories],
        [
            charts.Series(t("dashboard.people"), charts.BLUE),
            charts.Series(t("dashboard.households"), charts.AMBER),
        ],
        [(c.people, c.households) for c in found.categories],
        chart_id="chart-categories-svg",
        title=t("dashboard.people_by_category"),
        desc=t("dashboard.desc.categories"),
        empty=t("dashboard.empty"),
        number=t.number,
    )
    charted = found.towns[:TOWNS_CHARTED]
    towns = charts.bar_chart(
        [town.name for town in charted],
        [town.people for town in charted],
        chart_id="chart-towns-svg",
        title=t("dashboard.by_town"),
        desc=t("dashboard.desc.towns"),
        empty=t("dashboard.empty"),
        colour=charts.BLUE,
        number=t.number,
    )
    return {"categories": categories, "towns": towns}


AGE_COLOURS = (charts.BLUE, charts.TEAL, charts.AMBER, charts.RED)


def warning_charts(t: Translator, found: Warnings) -> dict[str, Markup]:
    ages = charts.stacked_bar_chart(
        [t.term("kind", k.kind) for k in found.ages],
        [
            charts.Series(t(f"dashboard.age.{name}"), colour)
            for name, colour in zip(AGE_BUCKETS, AGE_COLOURS, strict=True)
        ],
        [k.counts for k in found.ages],
        chart_id="chart-warning-age-svg",
        title=t("dashboard.warnings_by_kind"),
        desc=t("dashboard.desc.warning_age"),
        empty=t("dashboard.empty"),
        number=t.number,
    )
    overdue = charts.bar_chart(
        [agency_label(t, a) for a in found.overdue],
        [a.overdue for a in found.overdue],
        chart_id="chart-overdue-agencies-svg",
        title=t("dashboard.overdue_by_agency"),
        desc=t("dashboard.desc.overdue_agencies"),
        empty=t("dashboard.empty"),
        colour=charts.RED,
        number=t.number,
    )
    return {"warning_age": ages, "overdue_agencies": overdue}


def agency_label(t: Translator, agency: AgencyOverdue) -> str:
    if agency.code is None:
        return t("dashboard.unassigned")
    return agency.name(t.language)


@dataclass(frozen=True, slots=True)
class Figures:
    at: datetime
    population: Population | None
    warnings: Warnings | None


# The figures of a view (region, whose assignments, which scopes, day) for a minute: on a
# province's database they take a second or two to count, and a dashboard is looked at by many
# caseworkers at once. Counts only (nothing personal), few keys (regions × agencies); the page
# says when they were counted.
CACHE_SECONDS = 60


async def figures(request: Request, me: Me) -> Figures:
    today = date.today()  # as the API decides "overdue"
    principal = me.principal
    counts_population, counts_warnings = me.can("household:read"), me.can("warning:read")
    key = (
        principal.region_code,
        assigned_filter(principal),
        counts_population,
        counts_warnings,
        today,
    )
    now = datetime.now(UTC)
    # One cache per app (its database), kept on the app's state.
    state = request.app.state
    if not hasattr(state, "dashboard_figures"):
        state.dashboard_figures = {}
    cache: dict[tuple[object, ...], Figures] = state.dashboard_figures
    cached = cache.get(key)
    if cached is not None and (now - cached.at).total_seconds() < CACHE_SECONDS:
        return cached
    population: Population | None = None
    warnings: Warnings | None = None
    async with request.app.state.db.reader.connect() as conn:
        if counts_population:
            population = await statistics.population(conn, principal, today)
        if counts_warnings:
            warnings = await statistics.warnings(conn, principal, today)
    if len(cache) > 1000:
        cache.clear()
    cache[key] = Figures(now, population, warnings)
    return cache[key]


@page
async def dashboard_page(request: Request, me: Me) -> Response:
    counted = await figures(request, me)
    population, warnings = counted.population, counted.warnings
    t = Translator(language_of(request))
    shown: dict[str, Markup] = {}
    if population is not None:
        shown.update(population_charts(t, population))
    if warnings is not None:
        shown.update(warning_charts(t, warnings))
    return render(
        request,
        "dashboard.html",
        {
            "me": me,
            "section": "dashboard",
            "now": counted.at,
            "population": population,
            "warnings": warnings,
            "charts": shown,
            "towns_charted": TOWNS_CHARTED,
            "age_buckets": AGE_BUCKETS,
        },
    )
