"""Charts drawn on the server as SVG: no JavaScript library, no outside request."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from apps.ops.selectors import DayCount


def bar_chart_svg(days: list[DayCount], *, width: int = 720, height: int = 180, label: str = "photos") -> SafeString:
    top = max((day.count for day in days), default=0) or 1
    gap, bottom_margin = 2, 22
    bar_width = (width - gap * (len(days) - 1)) / max(len(days), 1)
    bars = []
    for index, day in enumerate(days):
        bar_height = (height - bottom_margin) * day.count / top
        x = index * (bar_width + gap)
        y = height - bottom_margin - bar_height
        title = f"{day.day:%d %b}: {day.count} {label}"
        bars.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_width:.1f}" height="{bar_height:.1f}" rx="2" '
            f'class="bar"><title>{escape(title)}</title></rect>'
        )
    ticks = []
    last = len(days) - 1
    for index, day in enumerate(days):
        # Weekly labels plus the last day; none so close to the last that they overlap it.
        if index == last or (index % 7 == 0 and last - index >= 4):
            anchor = "start" if index == 0 else "end" if index == last else "middle"
            x = 0 if index == 0 else width if index == last else index * (bar_width + gap) + bar_width / 2
            ticks.append(
                f'<text x="{x:.1f}" y="{height - 6}" text-anchor="{anchor}" class="tick">{day.day:%d %b}</text>'
            )
    total = sum(day.count for day in days)
    return mark_safe(  # noqa: S308 (every value above is a number or escaped)
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{total} {label} in {len(days)} days" '
        f'class="chart" xmlns="http://www.w3.org/2000/svg">{"".join(bars)}{"".join(ticks)}'
        f'<text x="0" y="12" class="tick">max {top}/day</text></svg>'
    )
