"""The dashboard's SVG charts (gateway/console/charts.py): pure functions, checked as XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from gateway.console import charts
from gateway.console.charts import Series, bar_chart, grouped_bar_chart, stacked_bar_chart

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & 镇'
COMMON: dict[str, Any] = {"title": "标题 <b>", "desc": "说明 & desc", "empty": "暂无数据"}
TWO = [Series("人数", charts.BLUE), Series("户数", charts.AMBER)]


def parsed(markup: str) -> ET.Element:
    """The chart as XML: well-formed, or the test fails here."""
    return ET.fromstring(markup)


def texts(svg: ET.Element) -> list[str]:
    return [t.text or "" for t in svg.iter(f"{SVG}text")]


def bars(svg: ET.Element) -> list[float]:
    """The widths of the bars (every rect that is not a legend swatch)."""
    return [
        float(r.get("width", "0"))
        for r in svg.iter(f"{SVG}rect")
        if r.get("width") != str(charts.SWATCH) or r.get("height") != str(charts.SWATCH)
    ]


def thousands(value: int) -> str:
    return f"{value:,}"


# --- what every chart has ------------------------------------------------------------------


def _each_chart(chart_id: str, labels: list[str]) -> list[str]:
    return [
        bar_chart(labels, [3] * len(labels), chart_id=chart_id, **COMMON),
        grouped_bar_chart(labels, TWO, [(3, 1)] * len(labels), chart_id=chart_id, **COMMON),
        stacked_bar_chart(labels, TWO, [(3, 1)] * len(labels), chart_id=chart_id, **COMMON),
    ]


@pytest.mark.parametrize("labels", [["汇龙镇", "北新镇"], []])
def test_every_chart_is_an_image_with_a_title_and_a_description(labels: list[str]) -> None:
    for markup in _each_chart("c1", labels):
        svg = parsed(markup)
        assert svg.get("role") == "img"
        assert svg.get("aria-labelledby") == "c1-title c1-desc"
        title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
        assert title is not None
        assert title.get("id") == "c1-title"
        assert title.text == "标题 <b>"  # escaped in the markup, the text once parsed
        assert desc is not None
        assert desc.get("id") == "c1-desc"
        assert desc.text == "说明 & desc"
        assert "<b>" not in markup


def test_labels_and_numbers_are_escaped() -> None:
    def hostile_number(value: int) -> str:
        return f"<i>{value}</i>"

    for markup in (
        bar_chart([HOSTILE], [5], chart_id="x", number=hostile_number, **COMMON),
        grouped_bar_chart([HOSTILE], TWO, [(5, 2)], chart_id="x", number=hostile_number, **COMMON),
        stacked_bar_chart(
            [HOSTILE], TWO, [(50, 20)], chart_id="x", number=hostile_number, **COMMON
        ),
        grouped_bar_chart(["a"], [Series(HOSTILE, charts.RED)], [(1,)], chart_id="x", **COMMON),
    ):
        assert "<script>" not in markup
        assert "<i>" not in markup
        svg = parsed(markup)
        assert svg.find(f".//{SVG}script") is None
        assert any(HOSTILE in t for t in texts(svg)) or any(
            HOSTILE in (t.text or "") for t in svg.iter(f"{SVG}title")
        )


@pytest.mark.parametrize(
    ("chart_id", "colour"), [("bad id", charts.BLUE), ("ok", "red"), ("ok", '#fff" onload="x')]
)
def test_ids_and_colours_going_into_attributes_are_checked(chart_id: str, colour: str) -> None:
    with pytest.raises(ValueError, match="chart id|colour"):
        bar_chart(["a"], [1], chart_id=chart_id, colour=colour, **COMMON)
    with pytest.raises(ValueError, match="chart id|colour"):
        stacked_bar_chart(["a"], [Series("s", colour)], [(1,)], chart_id=chart_id, **COMMON)


def test_the_same_data_gives_the_same_bytes() -> None:
    first = _each_chart("same", ["汇龙镇", "Expenditure hardship"])
    assert first == _each_chart("same", ["汇龙镇", "Expenditure hardship"])


def test_data_that_does_not_fit_the_labels_is_refused() -> None:
    with pytest.raises(ValueError, match="one value per label"):
        bar_chart(["a", "b"], [1], chart_id="x", **COMMON)
    with pytest.raises(ValueError, match="one row of values"):
        grouped_bar_chart(["a"], TWO, [(1,)], chart_id="x", **COMMON)
    with pytest.raises(ValueError, match="negative"):
        stacked_bar_chart(["a"], TWO, [(1, -1)], chart_id="x", **COMMON)


# --- bar chart -----------------------------------------------------------------------------


def test_bars_are_proportional_to_their_values_and_show_them() -> None:
    svg = parsed(
        bar_chart(
            ["汇龙镇", "北新镇", "南阳镇"],
            [2000, 1000, 500],
            chart_id="x",
            number=thousands,
            **COMMON,
        )
    )
    widths = bars(svg)
    assert widths[0] > 0
    assert widths[1] == pytest.approx(widths[0] / 2, abs=0.1)
    assert widths[2] == pytest.approx(widths[0] / 4, abs=0.1)
    shown = texts(svg)
    for text in ("汇龙镇", "北新镇", "南阳镇", "2,000", "1,000", "500"):
        assert text in shown
    # The largest bar and its number stay inside the picture.
    assert widths[0] < charts.WIDTH


def test_zero_values_draw_empty_bars_and_still_say_zero() -> None:
    svg = parsed(bar_chart(["a", "b"], [0, 0], chart_id="x", **COMMON))
    assert bars(svg) == [0.0, 0.0]
    assert texts(svg).count("0") == 2


def test_no_data_says_so() -> None:
    svg = parsed(bar_chart([], [], chart_id="x", **COMMON))
    assert texts(svg) == ["暂无数据"]
    assert bars(svg) == []


def test_a_long_label_is_cut_on_the_chart_but_whole_in_its_tooltip() -> None:
    long = "县级困难群众基本生活保障工作协调机制" * 2
    svg = parsed(bar_chart([long, "医保"], [10, 5], chart_id="x", **COMMON))
    shown = texts(svg)
    cut = next(t for t in shown if t.endswith("…"))
    assert long.startswith(cut[:-1])
    assert len(cut) < len(long)
    assert charts.text_width(cut) <= charts.WIDTH * charts.MAX_LABEL_SHARE
    tooltips = [t.text or "" for t in svg.iter(f"{SVG}title")]
    assert f"{long}: 10" in tooltips


# --- grouped and stacked -------------------------------------------------------------------


def test_grouped_bars_share_one_scale_and_name_their_series() -> None:
    svg = parsed(
        grouped_bar_chart(
            ["最低生活保障", "特困供养"], TWO, [(1400, 700), (350, 0)], chart_id="x", **COMMON
        )
    )
    widths = bars(svg)  # group by group, series by series
    assert len(widths) == 4
    assert widths[1] == pytest.approx(widths[0] / 2, abs=0.1)
    assert widths[2] == pytest.approx(widths[0] / 4, abs=0.1)
    assert widths[3] == 0
    shown = texts(svg)
    assert {"人数", "户数", "最低生活保障", "特困供养", "1400", "700", "350", "0"} <= set(shown)
    swatches = [
        r.get("fill")
        for r in svg.iter(f"{SVG}rect")
        if r.get("width") == str(charts.SWATCH) and r.get("height") == str(charts.SWATCH)
    ]
    assert swatches == [charts.BLUE, charts.AMBER]


def test_stacked_parts_add_up_to_the_total_with_the_total_shown() -> None:
    ages = [
        Series(n, c)
        for n, c in zip("abcd", ("#111111", "#222222", "#333333", "#444444"), strict=True)
    ]
    svg = parsed(
        stacked_bar_chart(
            ["政策未落实", "未纳入救助"],
            ages,
            [(600, 300, 99, 1), (0, 0, 0, 500)],
            chart_id="x",
            number=thousands,
            **COMMON,
        )
    )
    parts = [r for r in svg.iter(f"{SVG}rect") if r.get("fill") in {s.colour for s in ages}]
    parts = [r for r in parts if r.get("width") != str(charts.SWATCH)]
    first = [float(r.get("width", "0")) for r in parts[:4]]
    second = [float(r.get("width", "0")) for r in parts[4:]]
    assert sum(first) == pytest.approx(2 * sum(second), abs=0.5)  # totals 1,000 and 500
    assert first[0] == pytest.approx(2 * first[1], abs=0.1)
    assert len(second) == 1  # parts of zero are not drawn
    shown = texts(svg)
    assert "1,000" in shown
    assert "500" in shown
    assert "600" in shown
    assert "300" in shown
    assert "1" not in shown  # a part too narrow for its number leaves it to the tooltip
    tooltips = [t.text or "" for t in svg.iter(f"{SVG}title")]
    assert "政策未落实: 1,000 (a 600, b 300, c 99, d 1)" in tooltips


def test_stacked_bars_of_nothing_show_zero_totals() -> None:
    svg = parsed(stacked_bar_chart(["a"], TWO, [(0, 0)], chart_id="x", **COMMON))
    assert texts(svg)[-1] == "0"


def test_the_legend_wraps_rather_than_running_off_the_picture() -> None:
    many = [Series(f"series name number {i}", charts.BLUE) for i in range(12)]
    svg = parsed(stacked_bar_chart(["a"], many, [tuple(range(12))], chart_id="x", **COMMON))
    for text in svg.iter(f"{SVG}text"):
        x = float(text.get("x", "0"))
        assert x + charts.text_width(text.text or "") <= charts.WIDTH
