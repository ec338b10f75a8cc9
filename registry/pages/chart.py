"""A download chart as plain SVG geometry, computed on the server (the pages run no script)."""

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
