"""The SVG charts: well-formed, named and described for screen readers, axes labelled, the
numbers placed where they belong, and nothing the CSP would block."""

import xml.etree.ElementTree as ET

from analytics.charts import Series, bar_chart, line_chart, nice_ticks, percent

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output


def texts(root: ET.Element) -> list[str]:
    return [element.text or "" for element in root.iter(f"{SVG}text")]


def assert_accessible_and_csp_safe(root: ET.Element, chart_id: str) -> None:
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == f"{chart_id}-title {chart_id}-desc"
    assert root[0].tag == f"{SVG}title" and root[0].get("id") == f"{chart_id}-title"
    assert root[1].tag == f"{SVG}desc" and root[1].get("id") == f"{chart_id}-desc"
    for element in root.iter():
        assert "style" not in element.attrib
        assert not any(name.startswith("on") for name in element.attrib)
        assert element.tag not in {f"{SVG}script", f"{SVG}style", f"{SVG}foreignObject"}


def test_a_line_chart_is_named_described_and_labels_its_axes():
    svg = line_chart(
        chart_id="activity",
        title="Enrollments and active learners",
        desc="Daily, 1 to 3 May.",
        x_labels=["1 May", "2 May", "3 May"],
        series=[Series("Enrollments", [1, 4, 2]), Series("Active learners", [3, 5, 8])],
        x_label="Day",
        y_label="Learners",
    )
    root = parse(svg)

    assert_accessible_and_csp_safe(root, "activity")
    assert root[0].text == "Enrollments and active learners"
    labels = texts(root)
    assert {"Day", "Learners", "1 May", "2 May", "3 May"} <= set(labels)
    assert {"Enrollments", "Active learners"} <= set(labels)  # the legend
    lines = root.findall(f"{SVG}polyline")
    assert [line.get("class") for line in lines] == [
        "chart-line chart-series-1",
        "chart-line chart-series-2",
    ]
    # The highest value (8) is the highest point: the smallest y.
    ys = [float(point.split(",")[1]) for point in lines[1].get("points").split()]
    assert ys.index(min(ys)) == 2


def test_a_share_axis_runs_to_100_percent_and_an_area_fills_the_first_series():
    root = parse(
        line_chart(
            chart_id="retention",
            title="Retention",
            desc="Share still watching.",
            x_labels=["0:00", "0:30", "1:00"],
            series=[Series("Still watching", [1.0, 0.5, 0.25])],
            x_label="Position in the video",
            y_label="Share of viewers",
            y_max=1,
            y_format=percent,
            area=True,
        )
    )

    assert "100%" in texts(root) and "0%" in texts(root)
    assert root.find(f"{SVG}polygon").get("class") == "chart-area chart-series-1"


def test_text_is_escaped():
    svg = line_chart(
        chart_id="x",
        title="<script>alert(1)</script>",
        desc="a & b",
        x_labels=["<b>"],
        series=[Series("s", [1])],
        x_label="x",
        y_label="y",
    )

    assert "<script>" not in svg and "&lt;script&gt;" in svg
    root = parse(svg)
    assert root[0].text == "<script>alert(1)</script>"
    assert root.find(f"{SVG}circle") is not None  # one point is a dot


def test_a_bar_chart_has_a_bar_and_a_value_per_category_and_series():
    root = parse(
        bar_chart(
            chart_id="segments",
            title="Rewatched and skipped",
            desc="Per segment.",
            labels=["0:00–0:30", "0:30–1:00"],
            series=[Series("Rewatches", [5, 0]), Series("Skips", [1, 9])],
            value_label="Seeks",
            category_label="Segment",
        )
    )

    assert_accessible_and_csp_safe(root, "segments")
    bars = root.findall(f"{SVG}rect[@height]")
    bars = [bar for bar in bars if "chart-bar" in bar.get("class")]
    assert len(bars) == 4
    widths = [float(bar.get("width")) for bar in bars]
    assert widths[2] == 0 and widths[3] == max(widths)  # 0 rewatches; 9 skips: longest
    assert {"0:00–0:30", "0:30–1:00", "Seeks", "Segment", "Rewatches", "Skips", "9"} <= set(
        texts(root)
    )


def test_an_empty_chart_says_so():
    root = parse(
        bar_chart(
            chart_id="funnel",
            title="Funnel",
            desc="Nothing yet.",
            labels=[],
            series=[Series("Completed", [])],
            value_label="Learners",
            category_label="Lesson",
        )
    )

    assert "No data in this period" in texts(root)


def test_ticks_are_round_numbers_covering_the_maximum():
    assert nice_ticks(0) == [0.0, 1.0]
    assert nice_ticks(1) == [0, 0.5, 1.0]
    assert nice_ticks(9) == [0, 5, 10]
    assert nice_ticks(10_000) == [0, 5000, 10_000]
    assert nice_ticks(13) == [0, 5, 10, 15]
