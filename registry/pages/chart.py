"""Charts as plain SVG geometry, computed on the server (the pages run no script): downloads per
day, and a distribution (declared ranges, resolved versions) as horizontal bars."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from registry.domain.record import Record
from registry.store.downloads import DailyDownloads

WIDTH = 720
HEIGHT = 160
_TOP = 8  # room above the tallest bar
_AXIS = 20  # room below the bars for the date labels


class Bar(Record):
    day: date
    count: int
    x: float
    y: float
    width: float
    height: float


class Chart(Record):
    days: int
    start: date
    end: date
    total: int
    peak: int
    bars: list[Bar]
    width: int = WIDTH
    height: int = HEIGHT
    baseline: int = HEIGHT - _AXIS


def download_chart(series: Sequence[DailyDownloads], *, today: date, days: int = 90) -> Chart:
    """One bar per day over the last `days` days up to `today` (days without downloads: no bar)."""
    start = today - timedelta(days=days - 1)
    counts = {point.day: point.count for point in series if start <= point.day <= today}
    peak = max(counts.values(), default=0)
    slot = WIDTH / days
    plot = HEIGHT - _AXIS - _TOP
    bars = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        count = counts.get(day, 0)
        height = round(plot * count / peak, 2) if peak else 0.0
        if count and height < 1:
            height = 1.0  # a day with downloads stays visible next to a big one
        bars.append(
            Bar(
                day, count, round(offset * slot + 0.5, 2), round(HEIGHT - _AXIS - height, 2), round(slot - 1, 2), height
            )
        )
    return Chart(days, start, today, sum(counts.values()), peak, bars)


DISTRIBUTION_WIDTH = 720
_ROW = 22  # height of one bar's row
_LABEL = 200  # room left of the bars for the labels
_COUNT = 80  # room right of the bars for the counts


class DistributionBar(Record):
    """One value (a declared range, a resolved version) and its share, as one horizontal bar;
    `marked` sets it apart (a range admitting the version asked about)."""

    label: str
    count: int
    marked: bool | None
    y: float
    width: float


class Distribution(Record):
    """The most frequent values as horizontal bars, the rest summed as `others` (the same values'
    table beside the chart is its text alternative)."""

    total: int
    peak: int
    bars: list[DistributionBar]
    others: int
    other_values: int
    width: int
    height: int
    label_width: int = _LABEL
    row: int = _ROW


def distribution_chart(values: Sequence[tuple[str, int, bool | None]], *, shown: int = 20) -> Distribution:
    """Bars for the `shown` most frequent (label, count, marked) values, longest first, scaled to
    the most frequent; a value too rare to see gets a bar of one unit, so it is never invisible."""
    ordered = sorted(values, key=lambda value: (-value[1], value[0]))
    top, rest = ordered[:shown], ordered[shown:]
    peak = max((count for _, count, _ in top), default=0)
    plot = DISTRIBUTION_WIDTH - _LABEL - _COUNT
    bars = []
    for n, (label, count, marked) in enumerate(top):
        width = round(plot * count / peak, 2) if peak else 0.0
        bars.append(DistributionBar(label, count, marked, n * _ROW, max(width, 1.0) if count else 0.0))
    return Distribution(
        total=sum(count for _, count, _ in values),
        peak=peak,
        bars=bars,
        others=sum(count for _, count, _ in rest),
        other_values=len(rest),
        width=DISTRIBUTION_WIDTH,
        height=max(len(bars), 1) * _ROW,
    )
