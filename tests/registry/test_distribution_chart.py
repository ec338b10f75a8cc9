"""The distribution chart (declared ranges, resolved versions) as plain geometry, without a server."""

from __future__ import annotations

from registry.pages.chart import DISTRIBUTION_WIDTH, distribution_chart


def test_bars_are_the_most_frequent_values_longest_first_scaled_to_the_peak() -> None:
    chart = distribution_chart([("^1", 10, None), ("^2", 40, True), ("~1.4", 20, False)])
    assert [(bar.label, bar.count, bar.marked) for bar in chart.bars] == [
        ("^2", 40, True),
        ("~1.4", 20, False),
        ("^1", 10, None),
    ]
    assert chart.bars[0].width == 2 * chart.bars[1].width == 4 * chart.bars[2].width
    assert chart.bars[0].width + chart.label_width < DISTRIBUTION_WIDTH, "room is left for the count"
    assert [bar.y for bar in chart.bars] == [0, chart.row, 2 * chart.row]
    assert (chart.total, chart.peak, chart.others, chart.other_values) == (70, 40, 0, 0)


def test_beyond_the_shown_values_the_rest_is_summed_and_a_rare_value_stays_visible() -> None:
    values = [(f"1.0.{n}", 1000 if n == 0 else 1, None) for n in range(30)]
    chart = distribution_chart(values, shown=20)
    assert len(chart.bars) == 20 and chart.height == 20 * chart.row
    assert (chart.others, chart.other_values, chart.total) == (10, 10, 1029)
    assert min(bar.width for bar in chart.bars) == 1.0, "one unit wide, never invisible"


def test_no_values_no_bars() -> None:
    chart = distribution_chart([])
    assert (chart.bars, chart.total, chart.peak) == ([], 0, 0)
