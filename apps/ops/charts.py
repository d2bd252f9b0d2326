"""Charts drawn on the server: no JavaScript library, no outside request.

The bars are an SVG stretched to the card's width; the labels are HTML beside it, so
they keep their size on a phone (as SVG text they shrank with the drawing, to ~6 px).
"""

from __future__ import annotations

from django.utils.dateformat import format as date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from apps.ops.selectors import DayCount


def bar_chart_svg(days: list[DayCount], *, height: int = 160, label: str = "") -> SafeString:
    """A bar per day, `height` CSS px tall, with weekly date labels and the busiest day's count.
    `label` names what is counted, in the page's language (default: photos)."""
    label = label or gettext("photos")
    top = max((day.count for day in days), default=0) or 1
    slots = max(len(days), 1)
    slot, gap = 100 / slots, 100 / slots * 0.15  # in viewBox units: the SVG is 100 wide, stretched
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" class="bar"><title>{}</title></rect>',
        (
            (
                f"{index * slot + gap / 2:.2f}",
                f"{100 - 100 * day.count / top:.2f}",
                f"{slot - gap:.2f}",
                f"{100 * day.count / top:.2f}",
                f"{date_format(day.day, 'd M')}: {day.count} {label}",
            )
            for index, day in enumerate(days)
        ),
    )
    last = len(days) - 1
    # Weekly labels plus the last day; none so close to the last that they would overlap it.
    ticks = format_html_join(
        "",
        '<span class="{}" style="left: {}%">{}</span>',
        (
            (
                "tick first" if index == 0 else "tick last" if index == last else "tick",
                f"{0 if index == 0 else 100 if index == last else (index + 0.5) * slot:.2f}",
                date_format(day.day, "d M"),
            )
            for index, day in enumerate(days)
            if index == last or (index % 7 == 0 and last - index >= 5)
        ),
    )
    total = sum(day.count for day in days)
    return format_html(
        '<figure class="chart"><figcaption class="chart-max">{}</figcaption>'
        '<svg viewBox="0 0 100 100" preserveAspectRatio="none" role="img" aria-label="{}" '
        'style="height: {}px" xmlns="http://www.w3.org/2000/svg">{}</svg>'
        '<div class="chart-ticks" aria-hidden="true">{}</div></figure>',
        gettext("max %(count)d/day") % {"count": top},
        gettext("%(total)d %(things)s in %(days)d days") % {"total": total, "things": label, "days": len(days)},
        height,
        bars,
        ticks,
    )
