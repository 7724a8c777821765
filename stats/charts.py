"""Server-rendered SVG charts for the statistics pages: no JavaScript library and no external request, so a
page prints and saves as it looks, and every label goes through gettext like the rest of the page.

Three pure functions (no database) return SafeString markup to drop into a template:

- `column_chart` — vertical bars over time (participants per week, volunteer hours per month);
- `bar_chart` — horizontal bars, one row per region (rates in %), with an optional dashed target line;
- `histogram` — the score distribution (ten buckets), each bar with its count and its share of the total.

How they stay readable:

- The markup carries a viewBox and width="100%", so it scales to its container; geometry is in viewBox
  units chosen so that the text is about 11–13 px on a 390-pixel phone and in an A4 column. A column chart
  with too many bars for that ("qk-chart-wide") gets a minimum width in static/css/stats.css and scrolls
  sideways on a phone, as the figures tables do.
- Printed in black and white: dark solid bars, every value written beside its bar, thin grey gridlines,
  the target dashed and labelled — no meaning is carried by colour alone. The colours are attributes, not
  CSS, so the markup still draws correctly where stats.css is not linked (an exported page, an e-mail).
- No font-family is set: inline SVG inherits the page's font, so Chinese renders with the page's CJK fallback.
- role="img" with an aria-label (the title) and a <desc> that reads the figures out (highest, lowest, every
  value), since a screen reader does not read the drawn texts of an image.
- Every text is escaped: labels can be region names typed by users.
- Bad input never raises: None, NaN and infinity mean "no data" (nothing drawn, not a zero bar); an empty
  input draws a small "nothing to show yet" box.
"""

import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal, localcontext

from django.utils.formats import get_format
from django.utils.html import escape
from django.utils.numberformat import format as django_number_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

Number = int | float | Decimal

# Colours as in static/css/site.css (--sky-700, --ink, --ink-soft, --line): the bars are dark enough to print
# as a solid dark grey on a black-and-white printer, and text sits outside the bars, in ink.
BAR_FILL = "#1559a8"
TARGET_STROKE = "#1b2430"
INK = "#1b2430"
INK_SOFT = "#4a5668"
GRID = "#c9d3df"
AXIS = "#4a5668"

FONT = 13  # labels, in viewBox units
SMALL = 11  # ticks, values, crowded labels
# The viewBox width of a chart that fits: ~0.9 px a unit both in a phone's card and in half an A4 page.
NARROW = 360
WIDE = 480  # wider than this, the chart is marked "qk-chart-wide" (a minimum width in stats.css)
LABEL_EMS = 12  # a bar chart's label column: twelve Chinese characters, longer labels are cut with "…"


# --- numbers ------------------------------------------------------------------------------------------------


def format_number(value: Number, decimal_pos: int | None = None) -> str:
    """A number with thousands grouped in the active language: "12,345" in English.

    Django's zh-hans formats have no thousands separator (12345), while CLDR — and so every browser and
    spreadsheet — writes 12,345 for zh-CN; a chart's value must be readable at a glance, so an empty
    separator falls back to "," in groups of three. `decimal_pos` None: none for whole numbers, else one.
    """
    separator = get_format("THOUSAND_SEPARATOR")
    grouping = get_format("NUMBER_GROUPING")
    if not separator:
        separator, grouping = ",", 3
    # Django's formatter cuts extra decimals off; round half up first, as campaigns.figures.percentage does.
    value = Decimal(str(value))
    with localcontext() as context:  # enough digits for any finite number, else quantize refuses
        context.prec = max(28, value.adjusted() + (decimal_pos or 1) + 4)
        if decimal_pos is None:
            decimal_pos = 0 if value == value.to_integral_value() else 1
        value = value.quantize(Decimal(1).scaleb(-decimal_pos), rounding=ROUND_HALF_UP)
    return django_number_format(
        value,
        get_format("DECIMAL_SEPARATOR"),
        decimal_pos=decimal_pos,
        grouping=grouping,
        thousand_sep=separator,
        force_grouping=True,
    )


def format_percent(value: Number, decimal_pos: int | None = None) -> str:
    """A percentage: "87.5%", "90%" (whole numbers without decimals unless `decimal_pos` says otherwise)."""
    return f"{format_number(value, decimal_pos)}%"


def _number(value) -> float | None:
    """The value as a float for the geometry; None for no data, and for what is not a finite number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, ArithmeticError):
        return None
    return number if math.isfinite(number) else None


# --- text ---------------------------------------------------------------------------------------------------


def _text_width(text: str, size: float) -> float:
    """An estimate of the drawn width, a little generous: Chinese characters are one em, Latin about half."""
    ems = 0.0
    for char in text:
        if unicodedata.east_asian_width(char) in ("W", "F"):
            ems += 1.0
        elif char in " .,:;'|!iljt()[]":
            ems += 0.34
        elif char.isupper() or char in "%mw@…—–":
            ems += 0.86
        else:
            ems += 0.58
    return ems * size


# Characters XML does not allow (controls other than tab and newlines, lone surrogates, U+FFFE/FFFF): a label
# typed with one must not make the markup unparsable.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _escape(text) -> str:
    return escape(_NOT_XML.sub("", str(text)))


def _fit(text: str, width: float, size: float) -> str:
    """The text cut with "…" to fit `width`; the full text goes into a <title> beside it."""
    if _text_width(text, size) <= width:
        return text
    cut = text
    while cut and _text_width(cut + "…", size) > width:
        cut = cut[:-1]
    return cut.rstrip() + "…"


def _line(x1, y1, x2, y2, *, stroke=GRID, width=0.75, extra="") -> str:
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}" '
        f'stroke-width="{width}"{extra}/>'
    )


def _rect(x, y, width, height) -> str:
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" fill="{BAR_FILL}"/>'


def _text(x, y, content, *, size=SMALL, anchor="start", fill=INK, weight=None, extra="") -> str:
    attrs = f'x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{fill}"'
    if anchor != "start":
        attrs += f' text-anchor="{anchor}"'
    if weight:
        attrs += f' font-weight="{weight}"'
    return f"<text {attrs}{extra}>{_escape(content)}</text>"


def _separator() -> str:
    return pgettext("list separator in a chart's description", "; ")


def _pair(label: str, value: str) -> str:
    return _("%(label)s: %(value)s") % {"label": label, "value": value}


# --- the frame ----------------------------------------------------------------------------------------------


def _svg(*, kind: str, width: float, height: float, title: str, desc: str, body: Sequence[str]) -> SafeString:
    classes = f"qk-chart qk-chart-{kind}"
    if width > WIDE:
        classes += " qk-chart-wide"
    return mark_safe(  # noqa: S308 - every text inside was escaped when it was drawn
        f'<svg class="{classes}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="100%" preserveAspectRatio="xMidYMin meet" role="img" aria-label="{_escape(title)}">'
        f"<title>{_escape(title)}</title><desc>{_escape(desc)}</desc>{''.join(body)}</svg>"
    )


def _empty(*, kind: str, title: str) -> SafeString:
    message = _("Nothing to show yet.")
    body = [
        f'<rect x="0.5" y="0.5" width="{NARROW - 1}" height="59" rx="8" fill="none" stroke="{GRID}" '
        'stroke-dasharray="4 3"/>',
        _text(NARROW / 2, 35, message, size=FONT, anchor="middle", fill=INK_SOFT),
    ]
    return _svg(kind=f"{kind} qk-chart-empty", width=NARROW, height=60, title=title, desc=message, body=body)


def _nice_ticks(top: float, *, whole: bool, count: int = 4) -> list[float]:
    """Gridline values from 0 to at least `top`, in steps of 1, 2, 2.5 or 5 × 10ⁿ (whole steps for counts)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    if not raw > 0:  # a value too small for a float's exponent
        return [0.0, top]
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = 10 * magnitude
    for multiple in (1, 2, 2.5, 5):
        if multiple * magnitude >= raw:
            step = multiple * magnitude
            break
    if whole:
        step = float(max(1, math.ceil(step)))
    steps = math.ceil(top / step - 1e-9)
    if not math.isfinite(steps * step):  # beyond the largest float
        return [0.0, top]
    return [i * step for i in range(steps + 1)]


def _tick_text(tick: float, ticks: list[float]) -> str:
    """A gridline's value with as many decimals as its neighbours need (0, 0.5, 1 → "0.0", "0.5", "1.0")."""
    decimals = next(
        (d for d in range(4) if all(abs(round(t, d) - t) <= 1e-9 * max(1.0, abs(t)) for t in ticks)), 4
    )
    return format_number(tick, decimals)


def _extremes(pairs: list[tuple[str, float, str]]) -> str:
    """The sentence "Highest: 1,234 (11-02); lowest: 12 (09-07)." over (label, value, written) triples."""
    high = max(pairs, key=lambda pair: pair[1])
    low = min(pairs, key=lambda pair: pair[1])
    return _("Highest: %(high)s (%(high_label)s); lowest: %(low)s (%(low_label)s).") % {
        "high": high[2],
        "high_label": high[0],
        "low": low[2],
        "low_label": low[0],
    }


# --- column chart -------------------------------------------------------------------------------------------


def column_chart(
    *,
    title: str,
    points: Sequence[tuple[str, Number | None]],
    value_format: Callable[[Number], str] = format_number,
    y_label: str = "",
) -> SafeString:
    """Vertical bars in order (weeks, months): the value written above each bar, None drawn as nothing.

    Values are written across while they fit over their bars, else upwards; when the x labels would touch,
    only every Nth is shown (counted back from the last, so the latest period is always named). Past ~22 bars
    the chart grows wider than NARROW rather than squeezing its text (class "qk-chart-wide").
    """
    points = list(points)
    values = [_number(value) for _, value in points]
    known = [value for value in values if value is not None]
    if not known:
        return _empty(kind="column", title=title)
    labels = [str(label) for label, _value in points]
    shown_labels = [_fit(label, 14 * SMALL, SMALL) for label in labels]
    written = [
        str(value_format(raw)) if value is not None else ""
        for (_label, raw), value in zip(points, values, strict=True)
    ]
    count = len(points)

    whole = all(float(value).is_integer() for value in known)
    ticks = _nice_ticks(max(known), whole=whole)
    tick_texts = [_tick_text(tick, ticks) for tick in ticks]
    left = max(_text_width(text, SMALL) for text in tick_texts) + 8
    label_width = max(_text_width(label, SMALL) for label in shown_labels)
    right = 8.0

    value_width = max(_text_width(text, SMALL) for text in written)
    pitch = (NARROW - left - right) / count
    upright = value_width + 4 > pitch  # values written upwards, above the bars
    if upright:
        pitch = max(pitch, SMALL + 4.0)
    # The end labels are centred under the end bars: leave room for the halves that pass them.
    right = max(right, label_width / 2 - pitch / 2 + 2)
    left = max(left, label_width / 2 - pitch / 2 + 2)
    width = max(NARROW, left + count * pitch + right)

    label_step = max(1, math.ceil((label_width + 8) / pitch))
    plot_height = 170.0
    scale_top = ticks[-1] or 1.0
    # Room above the plot only for what the bars' values need beyond the space over their bars.
    headroom = SMALL * 0.6  # half of the top tick's label
    for value, text in zip(values, written, strict=True):
        if value is not None:
            extent = (_text_width(text, SMALL) if upright else SMALL) + 6
            headroom = max(headroom, extent - (1 - min(max(value, 0), scale_top) / scale_top) * plot_height)
    caption = 18 if y_label else 0
    top = caption + headroom
    base = top + plot_height
    height = base + SMALL + 12

    body = []
    if y_label:
        body.append(_text(0, 12, y_label, size=SMALL, fill=INK_SOFT))
    for tick, text in zip(ticks, tick_texts, strict=True):
        y = base - tick / scale_top * plot_height
        if tick:
            body.append(_line(left, y, width - right, y))
        body.append(_text(left - 6, y + SMALL * 0.35, text, anchor="end", fill=INK_SOFT))

    bar_width = min(pitch * (0.72 if upright else 0.66), 48.0)  # one or two bars would otherwise be slabs
    for index, (label, value, text) in enumerate(zip(labels, values, written, strict=True)):
        centre = left + pitch * (index + 0.5)
        if value is not None:
            bar_height = max(0.0, min(value, scale_top)) / scale_top * plot_height
            y = base - bar_height
            bar = _rect(centre - bar_width / 2, y, bar_width, bar_height)
            if upright:
                value_text = _text(
                    centre + SMALL * 0.35,
                    y - 4,
                    text,
                    extra=f' transform="rotate(-90 {centre + SMALL * 0.35:.1f} {y - 4:.1f})"',
                )
            else:
                value_text = _text(centre, y - 4, text, anchor="middle")
            body.append(f"<g><title>{_escape(_pair(label, text))}</title>{bar}{value_text}</g>")
        if (count - 1 - index) % label_step == 0:
            body.append(_text(centre, base + SMALL + 5, shown_labels[index], anchor="middle", fill=INK))
    body.append(_line(left, base, width - right, base, stroke=AXIS, width=1))

    if count == 1:
        span = _("One period: %(label)s.") % {"label": labels[0]}
    else:
        span = _("%(count)s periods, from %(first)s to %(last)s.") % {
            "count": format_number(count),
            "first": labels[0],
            "last": labels[-1],
        }
    desc = [
        span,
        _extremes(
            [
                (label, value, text)
                for label, value, text in zip(labels, values, written, strict=True)
                if value is not None
            ]
        ),
    ]
    missing = count - len(known)
    if missing:
        desc.append(
            ngettext("No data for %(count)s period.", "No data for %(count)s periods.", missing)
            % {"count": format_number(missing)}
        )
    desc.append(
        _separator().join(
            _pair(label, text)
            for label, value, text in zip(labels, values, written, strict=True)
            if value is not None
        )
    )
    return _svg(kind="column", width=width, height=height, title=title, desc=" ".join(desc), body=body)


# --- horizontal bar chart -----------------------------------------------------------------------------------


def bar_chart(
    *,
    title: str,
    rows: Sequence[tuple[str, Number | None]],
    max_value: Number | None = 100,
    value_format: Callable[[Number], str] = format_percent,
    target: Number | None = None,
) -> SafeString:
    """One horizontal bar per row (a rate per sub-region), the label at left and the value at the bar's end.

    `max_value` is the full length of a bar (100 for a rate; None: the largest value, rounded up); a value
    above it draws a full bar and keeps its written value. A label longer than twelve Chinese characters is
    cut with "…", its full text in the row's <title> (a tooltip). `target` draws a dashed, labelled line.
    """
    rows = list(rows)
    if not rows:
        return _empty(kind="bar", title=title)
    labels = [str(label) for label, _value in rows]
    values = [_number(value) for _, value in rows]
    no_data = _("no data")
    written = [
        str(value_format(raw)) if value is not None else no_data
        for (_label, raw), value in zip(rows, values, strict=True)
    ]
    known = [value for value in values if value is not None]
    target_value = _number(target)

    scale_max = _number(max_value)
    if scale_max is None or scale_max <= 0:
        whole = all(float(value).is_integer() for value in known)
        scale_max = _nice_ticks(max(known + [target_value or 0, 0]), whole=whole)[-1]
    if not scale_max > 0:  # values so small that their nice scale underflows to zero
        scale_max = 1.0
    ticks = _nice_ticks(scale_max, whole=float(scale_max).is_integer())
    if ticks[-1] > scale_max:  # keep the scale's end where the caller put it (100 %)
        ticks = [tick for tick in ticks if tick <= scale_max]

    label_width = min(LABEL_EMS * FONT, max(_text_width(label, FONT) for label in labels))
    value_width = max(_text_width(text, SMALL) for text in written)
    bar_left = label_width + 8
    width = max(NARROW, bar_left + 80 + value_width + 10)  # a long value_format text widens, never inverts
    bar_length = width - bar_left - value_width - 10
    row_height = 26.0
    target_band = 18.0 if target_value is not None else 4.0
    top = target_band
    height = top + row_height * len(rows) + SMALL + 12

    def x_of(value: float) -> float:
        return bar_left + max(0.0, min(value, scale_max)) / scale_max * bar_length

    body = []
    plot_bottom = top + row_height * len(rows)
    for tick in ticks:
        x = x_of(tick)
        body.append(_line(x, top, x, plot_bottom))
        body.append(
            _text(x, plot_bottom + SMALL + 4, value_format(_round_tick(tick)), anchor="middle", fill=INK_SOFT)
        )
    target_x = x_of(target_value) if target_value is not None else None
    written_values = []  # drawn after the target line, so that the line never runs through a value
    for index, (label, value, text) in enumerate(zip(labels, values, written, strict=True)):
        middle = top + row_height * (index + 0.5)
        shown = _fit(label, label_width, FONT)
        parts = [f"<title>{_escape(_pair(label, text))}</title>"]
        parts.append(_text(0, middle + FONT * 0.35, shown, size=FONT))
        text_x = bar_left + 2
        if value is not None:
            end = x_of(value)
            parts.append(_rect(bar_left, middle - 8, end - bar_left, 16))
            text_x = end + 4
        text_width = _text_width(text, SMALL)
        if target_x is not None and text_x - 2 <= target_x <= text_x + text_width + 2:
            written_values.append(
                f'<rect x="{text_x - 2:.1f}" y="{middle - 8:.1f}" width="{text_width + 4:.1f}" height="16" '
                'fill="#fff"/>'
            )
        written_values.append(
            _text(text_x, middle + SMALL * 0.35, text, fill=INK if value is not None else INK_SOFT)
        )
        body.append(f"<g>{''.join(parts)}</g>")
    body.append(_line(bar_left, top, bar_left, plot_bottom, stroke=AXIS, width=1))

    desc = [
        ngettext("%(count)s row.", "%(count)s rows.", len(rows)) % {"count": format_number(len(rows))},
    ]
    if known:
        desc.append(
            _extremes(
                [
                    (label, value, text)
                    for label, value, text in zip(labels, values, written, strict=True)
                    if value is not None
                ]
            )
        )
    if target_x is not None:
        x = target_x
        target_text = _("target %(value)s") % {"value": value_format(target)}
        # The label is centred on the line unless that would run off either side.
        half = _text_width(target_text, SMALL) / 2
        label_x = min(max(x, bar_left + half), width - half)
        body.append(
            _line(
                x, top - 3, x, plot_bottom, stroke=TARGET_STROKE, width=1.5, extra=' stroke-dasharray="5 3"'
            )
        )
        body.append(_text(label_x, top - 6, target_text, anchor="middle", weight="600"))
        reached = sum(1 for value in known if value >= target_value)
        desc.append(
            ngettext(
                "Target %(target)s: %(reached)s of %(count)s row reaches it.",
                "Target %(target)s: %(reached)s of %(count)s rows reach it.",
                len(rows),
            )
            % {
                "target": value_format(target),
                "reached": format_number(reached),
                "count": format_number(len(rows)),
            }
        )
    body.extend(written_values)
    desc.append(_separator().join(_pair(label, text) for label, text in zip(labels, written, strict=True)))
    return _svg(kind="bar", width=width, height=height, title=title, desc=" ".join(desc), body=body)


def _round_tick(tick: float) -> int | float:
    return int(tick) if float(tick).is_integer() else tick


# --- histogram ----------------------------------------------------------------------------------------------


def histogram(
    *,
    title: str,
    counts: Sequence[int | None],
    labels: Sequence[str],
) -> SafeString:
    """The score distribution: one bar per bucket with its count and, under it, its share of the total.

    `labels` name the buckets ("0–9", …, "90–100"); a missing label is left blank rather than raising, and
    the total is written at the top left so that a printed chart says what the shares are of.
    """
    numbers = [max(0, int(value)) if _number(value) is not None else 0 for value in counts]
    total = sum(numbers)
    if not numbers or not total:
        return _empty(kind="histogram", title=title)
    names = [str(label) for label in labels][: len(numbers)]
    names += [""] * (len(numbers) - len(names))
    shown_names = [_fit(name, 8 * SMALL, SMALL) for name in names]
    written = [format_number(number) for number in numbers]
    shares = [
        format_percent(Decimal(number * 100) / total, 1 if number * 100 % total else 0) for number in numbers
    ]

    # Counts in bold and shares under them must fit a bar's width; the bucket labels may take two: when they
    # do not fit one, every other label drops to a second line (still horizontal, still under its bar).
    value_width = max(
        max(_text_width(text, SMALL) * 1.08 for text in written),
        max(_text_width(text, SMALL) for text in shares),
    )
    label_width = max(_text_width(name, SMALL) for name in shown_names)
    pitch = max(value_width + 4, (label_width + 8) / 2)
    # The first and last labels are centred under the end bars: room for the half that passes them.
    inset = max(0.0, label_width / 2 - pitch / 2 + 1)
    if pitch * len(numbers) + 2 * inset < NARROW:
        pitch = (NARROW - 2 * inset) / len(numbers)
        inset = max(0.0, label_width / 2 - pitch / 2 + 1)
    width = pitch * len(numbers) + 2 * inset
    staggered = label_width + 6 > pitch
    caption = 18
    headroom = 2 * SMALL + 10
    top = caption + headroom
    plot_height = 150.0
    base = top + plot_height
    height = base + (2 if staggered else 1) * (SMALL + 4) + 8
    largest = max(numbers)

    body = [_text(0, 12, _("Total: %(count)s") % {"count": format_number(total)}, fill=INK_SOFT)]
    bar_width = pitch * 0.8
    for index, (name, number, text, share) in enumerate(zip(names, numbers, written, shares, strict=True)):
        centre = inset + pitch * (index + 0.5)
        bar_height = number / largest * plot_height
        y = base - bar_height
        body.append(
            f"<g><title>{_escape(_pair(name, _count_share(text, share)))}</title>"
            + _rect(centre - bar_width / 2, y, bar_width, bar_height)
            + _text(centre, y - SMALL - 7, text, anchor="middle", weight="700")
            + _text(centre, y - 4, share, anchor="middle", fill=INK_SOFT)
            + "</g>"
        )
        line = 1 if staggered and index % 2 else 0
        body.append(_text(centre, base + SMALL + 5 + line * (SMALL + 4), shown_names[index], anchor="middle"))
    body.append(_line(0, base, width, base, stroke=AXIS, width=1))

    most = max(range(len(numbers)), key=lambda index: numbers[index])
    desc = [
        _("%(total)s in total; the most in %(label)s: %(count)s (%(share)s).")
        % {
            "total": format_number(total),
            "label": names[most],
            "count": written[most],
            "share": shares[most],
        },
        _separator().join(
            _pair(name, _count_share(text, share))
            for name, text, share in zip(names, written, shares, strict=True)
        ),
    ]
    return _svg(kind="histogram", width=width, height=height, title=title, desc=" ".join(desc), body=body)


def _count_share(count: str, share: str) -> str:
    return _("%(count)s (%(share)s)") % {"count": count, "share": share}
