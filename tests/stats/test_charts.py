"""stats/charts.py: SVG that parses, escapes what users typed, survives empty and odd input, and writes every
value out. Pure functions: no database."""

import math
import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from stats.charts import bar_chart, column_chart, format_number, format_percent, histogram

SVG = "{http://www.w3.org/2000/svg}"
BUCKETS = ["0–9", "10–19", "20–29", "30–39", "40–49", "50–59", "60–69", "70–79", "80–89", "90–100"]


def parse(markup) -> ET.Element:
    root = ET.fromstring(str(markup))  # noqa: S314 - our own markup, parsed to prove it is well formed
    assert root.tag == f"{SVG}svg"
    return root


def drawn_texts(root: ET.Element) -> list[str]:
    return ["".join(element.itertext()) for element in root.iter(f"{SVG}text")]


def bars(root: ET.Element) -> list[ET.Element]:
    """The data bars: filled rects (the empty box and the white backings behind values are not bars)."""
    return [rect for rect in root.iter(f"{SVG}rect") if rect.get("fill") not in ("none", "#fff")]


def tooltips(root: ET.Element) -> list[str]:
    return [element.text or "" for element in root.iter(f"{SVG}title")]


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


CHARTS = {
    "column": lambda title, label: column_chart(title=title, points=[(label, 5), ("11-09", 12)]),
    "bar": lambda title, label: bar_chart(title=title, rows=[(label, 80.5), ("North", 40)]),
    "histogram": lambda title, label: histogram(title=title, counts=[1, 2, 3], labels=[label, "b", "c"]),
}


@pytest.mark.parametrize("kind", CHARTS)
def test_every_chart_is_an_accessible_svg_that_scales(kind):
    root = parse(CHARTS[kind]("Participants per week", "11-02"))

    assert root.get("role") == "img"
    assert root.get("aria-label") == "Participants per week"
    assert root.get("width") == "100%"
    assert re.fullmatch(r"0 0 \d+ \d+", root.get("viewBox"))
    assert root.find(f"{SVG}title").text == "Participants per week"
    assert root.find(f"{SVG}desc").text  # the figures read out for a screen reader
    assert f"qk-chart-{kind}" in root.get("class").split()
    # No font of its own: it takes the page's, so Chinese renders with the page's CJK fallback.
    assert "font-family" not in str(CHARTS[kind]("t", "x"))


@pytest.mark.parametrize("kind", CHARTS)
def test_labels_and_titles_typed_by_users_are_escaped(kind):
    label = "<script>alert(\"x\")</script> & '东城区'"
    markup = str(CHARTS[kind]('Rates <b>"by"</b> region', label))
    root = parse(markup)

    assert "<script" not in markup and "<b>" not in markup
    assert root.get("aria-label") == 'Rates <b>"by"</b> region'
    assert any(label in tip for tip in tooltips(root))  # the full text, in the bar's tooltip


def test_control_characters_in_a_label_do_not_break_the_markup():
    root = parse(bar_chart(title="t\x00", rows=[("East\x0b\x1f district", 50)]))

    assert "East district" in drawn_texts(root)


@pytest.mark.parametrize(
    "draw",
    [
        lambda: column_chart(title="t", points=[]),
        lambda: column_chart(title="t", points=[("11-02", None), ("11-09", None)]),
        lambda: column_chart(title="t", points=[("11-02", float("nan")), ("11-09", math.inf)]),
        lambda: bar_chart(title="t", rows=[]),
        lambda: histogram(title="t", counts=[], labels=[]),
        lambda: histogram(title="t", counts=[0] * 10, labels=BUCKETS),
    ],
)
def test_empty_input_draws_a_small_box_saying_so(draw):
    root = parse(draw())  # drawn inside the test, in its language

    assert drawn_texts(root) == ["Nothing to show yet."]
    assert "qk-chart-empty" in root.get("class").split()
    assert not bars(root)


def test_the_empty_message_is_chinese_in_chinese():
    with translation.override("zh-hans"):
        root = parse(histogram(title="成绩分布", counts=[], labels=[]))

    (message,) = drawn_texts(root)
    assert message != "Nothing to show yet."
    assert re.search(r"[\u4e00-\u9fff]", message)


def test_column_chart_draws_nothing_for_none_and_a_bar_for_zero():
    root = parse(column_chart(title="t", points=[("09-07", 0), ("09-14", None), ("09-21", 30)]))

    assert len(bars(root)) == 2
    texts = drawn_texts(root)
    assert "0" in texts and "30" in texts
    assert "09-14" in texts  # the period is named, it just has no bar
    assert "No data for 1 period." in root.find(f"{SVG}desc").text


def test_column_chart_writes_every_value_and_thins_crowded_labels():
    points = [(f"w{week:02d}", week * 1000) for week in range(1, 54)]
    root = parse(column_chart(title="t", points=points, y_label="participants"))

    texts = drawn_texts(root)
    assert all(format_number(value) in texts for _, value in points)  # "53,000" …
    shown = [label for label, _ in points if label in texts]
    assert "w53" in shown  # the latest period is always named
    assert 5 < len(shown) < 53
    assert "participants" in texts
    assert len(bars(root)) == 53
    assert "qk-chart-wide" in root.get("class").split()  # too many bars for a phone's width: it scrolls


def test_column_chart_with_a_single_point():
    root = parse(column_chart(title="t", points=[("2026-09", 42.5)], value_format=lambda v: f"{v} h"))

    assert len(bars(root)) == 1
    assert {"2026-09", "42.5 h"} <= set(drawn_texts(root))
    assert float(bars(root)[0].get("width")) <= 48  # not a slab across the chart
    assert "One period: 2026-09." in root.find(f"{SVG}desc").text


def test_bar_chart_rows_values_no_data_and_target():
    rows = [("东城区", Decimal("96.2")), ("西城区", 88.5), ("石景山区", None), ("通州区", 0), ("Over", 130)]
    root = parse(bar_chart(title="Registration rate", rows=rows, target=90))

    texts = drawn_texts(root)
    assert {
        "东城区",
        "西城区",
        "石景山区",
        "通州区",
        "96.2%",
        "88.5%",
        "0%",
        "130%",
        "no data",
        "target 90%",
    } <= set(texts)
    assert len(bars(root)) == 4  # no bar for "no data"
    lengths = {rect.get("width") for rect in bars(root)}
    assert len(lengths) == 4  # different values, different lengths…
    full = max(float(width) for width in lengths)
    assert float(bars(root)[-1].get("width")) == full  # …and 130 % is drawn as a full bar
    dashed = [line for line in root.iter(f"{SVG}line") if line.get("stroke-dasharray")]
    assert len(dashed) == 1
    assert "Target 90%: 2 of 5 rows reach it." in root.find(f"{SVG}desc").text


def test_bar_chart_cuts_long_labels_and_keeps_them_whole_in_the_tooltip():
    name = "房山区燕山地区办事处联合学区第一片区"
    root = parse(bar_chart(title="t", rows=[(name, 50)]))

    (drawn,) = [text for text in drawn_texts(root) if text.startswith("房山")]
    assert drawn.endswith("…") and len(drawn) <= 13
    assert f"{name}: 50%" in tooltips(root)
    assert "东城区" in drawn_texts(parse(bar_chart(title="t", rows=[("东城区", 1)])))


def test_bar_chart_with_a_single_row_and_an_automatic_scale():
    root = parse(bar_chart(title="t", rows=[("North", 7)], max_value=None, value_format=format_number))

    assert "7" in drawn_texts(root)
    assert len(bars(root)) == 1


def test_histogram_writes_counts_and_shares():
    root = parse(histogram(title="Scores", counts=[1, 1, 2, 0], labels=["0–24", "25–49", "50–74", "75–100"]))

    texts = drawn_texts(root)
    assert {"1", "2", "0", "25%", "50%", "0%", "0–24", "75–100", "Total: 4"} <= set(texts)
    assert "50–74: 2 (50%)" in tooltips(root)


def test_histogram_ten_buckets_with_large_counts_and_odd_input():
    counts = [12, 30, None, 140, -5, 810, 1502, 2907, 3410, 1_288_000]
    root = parse(histogram(title="t", counts=counts, labels=BUCKETS[:8]))  # two labels missing: blank

    texts = drawn_texts(root)
    assert {"12", "1,288,000", "99.3%"} <= set(texts)
    assert len(bars(root)) == 10


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_numbers_are_grouped_in_both_languages(language):
    with translation.override(language):
        assert format_number(1234567) == "1,234,567"
        assert format_number(1234.56) == "1,234.6"
        assert format_number(Decimal("0.05"), 1) == "0.1"  # rounded half up, not cut
        assert format_percent(Decimal("87.50")) == "87.5%"
        assert format_percent(90) == "90%"
        assert "12,345" in drawn_texts(parse(column_chart(title="t", points=[("a", 12345)])))


labels = st.text(max_size=30)
values = st.one_of(
    st.none(),
    st.integers(min_value=-(10**9), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-1000, max_value=10**9),
)


@settings(max_examples=150, deadline=None)
@given(points=st.lists(st.tuples(labels, values), max_size=60), title=labels)
def test_column_chart_never_raises_and_always_parses(points, title):
    parse(column_chart(title=title, points=points))


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.tuples(labels, values), max_size=40),
    max_value=st.one_of(st.none(), st.integers(min_value=-5, max_value=1000)),
    target=values,
)
def test_bar_chart_never_raises_and_always_parses(rows, max_value, target):
    parse(bar_chart(title="t", rows=rows, max_value=max_value, target=target))


@settings(max_examples=150, deadline=None)
@given(counts=st.lists(values, max_size=20), names=st.lists(labels, max_size=20))
def test_histogram_never_raises_and_always_parses(counts, names):
    parse(histogram(title="t", counts=counts, labels=names))
