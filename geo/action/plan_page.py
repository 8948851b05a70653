"""The patrol plan and the shift briefing as standalone, printable one-page HTML documents (A4, no external resources).

Kept apart from :mod:`geo.action.plan`, which makes the plan: this module
only draws it — an inline SVG map of the places' cells (EPSG:27700 metres,
north up, scale bar), the table, the area's figures, the forecast check and
the method. Every text that came from users or data is HTML-escaped.
"""

from __future__ import annotations

import html
import math
from typing import Final

import numpy as np
import pandas as pd

import shapely

from geo.action.briefing import Briefing, place_shapes
from geo.action.plan import NO_TIMES, PatrolPlan
from geo.analysis.change import NOT_COMPARABLE

__all__ = ["briefing_html", "plan_html"]

_CSS: Final = """
@page { size: A4; margin: 12mm }
* { box-sizing: border-box }
html, body { margin: 0; padding: 0; background: #fff }
body { font: 8pt/1.3 "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: #111 }
main#plan { width: 186mm; margin: 0 auto }
@media screen { main#plan { margin: 12mm auto } }
h1 { font-size: 13pt; margin: 0 0 1mm }
h2 { font-size: 9pt; margin: 2mm 0 1mm }
p { margin: 0 0 1.2mm }
.meta { color: #444 }
.top { display: grid; grid-template-columns: 104mm 1fr; gap: 4mm; margin-top: 2mm }
.map { width: 104mm; height: 78mm; border: 0.3mm solid #999; display: block }
.box { border: 0.3mm solid #999; padding: 1.5mm 2mm; margin-bottom: 2mm }
table { border-collapse: collapse; width: 100%; font-size: 7.3pt; margin-top: 1mm }
th, td { border-bottom: 0.2mm solid #bbb; padding: 0.5mm 1mm; text-align: left;
  vertical-align: top }
th { background: #eee }
td.num, th.num { text-align: right; white-space: nowrap }
td.rank { font-weight: bold; text-align: center }
tr { break-inside: avoid }
footer { margin-top: 2mm; font-size: 6.8pt; color: #444 }
footer p { margin: 0 0 0.8mm }
"""

_MAX_NOTES: Final = 5
_MAX_RECENT: Final = 8


def _path(geom: shapely.Geometry, tx: float, ty: float) -> str:
    """SVG path data for polygons, y flipped (``x - tx``, ``ty - y``)."""
    parts: list[str] = []
    for poly in shapely.get_parts(geom):
        if not isinstance(poly, shapely.Polygon):
            continue
        for ring in (poly.exterior, *poly.interiors):
            xy = np.asarray(ring.coords)
            pts = " ".join(f"{x - tx:.1f},{ty - y:.1f}" for x, y in xy[:-1])
            parts.append(f"M{pts}Z")
    return " ".join(parts)


def _map_svg(plan: PatrolPlan) -> str:
    """Draw the plan's places as an inline SVG map with numbered markers (EPSG:27700 metres)."""
    return _places_svg(
        [(str(n), w) for n, w in zip(plan.table["name"], plan.shapes, strict=True)],
        plan.outline,
    )


def _places_svg(named: list[tuple[str, str]], outline_wkt: str) -> str:
    """Draw ``(name, WKT)`` places numbered from 1 inside an outline, as an inline SVG map."""
    shapes = [shapely.from_wkt(w) for _, w in named]
    outline = shapely.from_wkt(outline_wkt) if outline_wkt else None
    if shapes:
        minx, miny, maxx, maxy = shapely.union_all(shapes).bounds
    elif outline is not None:
        minx, miny, maxx, maxy = outline.bounds
    else:
        minx, miny, maxx, maxy = 0.0, 0.0, 1000.0, 1000.0
    pad = max(0.12 * max(maxx - minx, maxy - miny), 300.0)
    minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
    # Match the box's 4:3 shape so metres are square on paper.
    width, height = maxx - minx, maxy - miny
    if width / height < 4 / 3:
        extra = (height * 4 / 3 - width) / 2
        minx, maxx, width = minx - extra, maxx + extra, height * 4 / 3
    else:
        extra = (width * 3 / 4 - height) / 2
        miny, maxy, height = miny - extra, maxy + extra, width * 3 / 4
    out = [
        f'<svg class="map" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.1f} '
        f'{height:.1f}" preserveAspectRatio="xMidYMid meet" role="img" '
        'aria-label="Map of the places to patrol">',
        f'<rect x="0" y="0" width="{width:.1f}" height="{height:.1f}" fill="#f7f7f4"/>',
    ]
    if outline is not None and not outline.is_empty:
        out.append(
            f'<path d="{_path(outline, minx, maxy)}" fill="#fff" stroke="#777" '
            f'stroke-width="{width / 400:.1f}" fill-rule="evenodd"/>'
        )
    r = width / 45
    for i, geom in enumerate(shapes, start=1):
        name = html.escape(named[i - 1][0])
        out.append(
            f'<path d="{_path(geom, minx, maxy)}" fill="#d7301f" fill-opacity="0.75" '
            f'stroke="#7f0000" stroke-width="{width / 700:.1f}" fill-rule="evenodd">'
            f"<title>{i}. {name}</title></path>"
        )
    for i, geom in enumerate(shapes, start=1):
        pt = shapely.point_on_surface(geom)
        cx, cy = pt.x - minx + r, maxy - pt.y - r
        out.append(
            f'<g><circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="#fff" '
            f'stroke="#111" stroke-width="{r / 6:.1f}"/><text x="{cx:.1f}" '
            f'y="{cy:.1f}" font-size="{r * 1.3:.1f}" text-anchor="middle" '
            f'dominant-baseline="central" font-weight="bold">{i}</text></g>'
        )
    bar = _nice(width / 5)
    x0, y0 = width * 0.04, height * 0.95
    out.append(
        f'<g><rect x="{x0:.1f}" y="{y0 - r * 0.3:.1f}" width="{bar:.1f}" '
        f'height="{r * 0.3:.1f}" fill="#111"/><text x="{x0:.1f}" y="{y0 - r * 0.6:.1f}" '
        f'font-size="{r * 1.1:.1f}">{_metres(bar)}</text></g>'
    )
    out.append(
        f'<text x="{width * 0.96:.1f}" y="{height * 0.07:.1f}" text-anchor="end" '
        f'font-size="{r * 1.4:.1f}" font-weight="bold">N ↑</text>'
    )
    out.append("</svg>")
    return "".join(out)


def _nice(length: float) -> float:
    power = 10 ** math.floor(math.log10(max(length, 1.0)))
    for step in (5, 2, 1):
        if step * power <= length:
            return float(step * power)
    return float(power)


def _metres(length: float) -> str:
    return f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"


def _fmt(value: object) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, float):
        return f"{value:,.1f}" if not value.is_integer() else f"{value:,.0f}"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    return str(value)


def plan_html(plan: PatrolPlan, *, title: str | None = None) -> str:
    """Return the plan as a standalone, printable one-page HTML document.

    A4 portrait (``@page { size: A4; margin: 12mm }``), no external
    resources: an inline SVG map of the places' cells with numbered
    markers matching the table, the table (places, change, busiest
    times, visits), the forecast check, the method in plain words and the
    date generated. All user text is HTML-escaped.

    Parameters
    ----------
    plan
        From :func:`make_plan`.
    title
        Heading (default: "Patrol plan, PERIOD").

    Returns
    -------
    str
        The HTML document; the root element of the content is ``<main id="plan">``.
    """
    e = html.escape
    heading = title if title is not None else f"Patrol plan, {plan.period}"
    t = plan.table
    layers = [
        c
        for c in t.columns
        if c
        not in {
            "rank",
            "name",
            "incidents",
            "harm",
            "confidence",
            "before",
            "change",
            "trend",
            "timed",
            "windows",
            "demand",
            "visits",
        }
    ]
    has_harm = "harm" in t.columns
    head = ["#", "Place", *(c.capitalize() for c in layers), "Incidents"]
    head += ["Harm"] if has_harm else []
    head += [f"Change vs {plan.before_period}", "Busiest times", "Visits"]
    numeric = {"Incidents", "Harm", "Visits"}
    rows_html = []
    for rec in t.to_dict("records"):
        change = str(rec["change"])
        if rec["trend"] not in (NOT_COMPARABLE, "") and rec["trend"] != change:
            change = f"{change}; {rec['trend']}"
        cells = [
            f'<td class="rank">{int(rec["rank"])}</td>',
            f"<td>{e(str(rec['name']))}</td>",
            *(f"<td>{e(_fmt(rec[c]))}</td>" for c in layers),
            f'<td class="num">{e(_fmt(rec["incidents"]))}</td>',
        ]
        if has_harm:
            cells.append(f'<td class="num">{e(_fmt(rec["harm"]))}</td>')
        windows = str(rec["windows"])
        if rec["timed"] and windows != NO_TIMES:
            windows += f" of {int(rec['timed'])} timed"
        cells += [
            f"<td>{e(change)}</td>",
            f"<td>{e(windows)}</td>",
            f'<td class="num"><b>{int(rec["visits"])}</b></td>',
        ]
        rows_html.append("<tr>" + "".join(cells) + "</tr>")
    if not rows_html:
        rows_html.append(
            f'<tr><td colspan="{len(head)}">No hot clusters for this selection.</td></tr>'
        )
    th = "".join(
        f'<th class="num">{e(h)}</th>' if h in numeric else f"<th>{e(h)}</th>"
        for h in head
    )
    cats = ", ".join(plan.categories) if plan.categories else "all categories"
    selection = (
        f"{plan.period} · {cats} · {plan.area} · {plan.visits} visits shared by "
        f"{'harm' if plan.weight == 'harm' else 'incidents'}"
    )
    notes = list(plan.messages[:_MAX_NOTES])
    more = len(plan.messages) - len(notes)
    notes_html = "".join(f"<p>Note: {e(_short(n))}</p>" for n in notes)
    if more > 0:
        notes_html += f"<p>{more} more note(s): see the app or the command line.</p>"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{e(heading)}</title><style>{_CSS}</style></head><body>"
        '<main id="plan">'
        f"<h1>{e(heading)}</h1>"
        f'<p class="meta">{e(selection)} · generated {e(plan.generated)}</p>'
        f"<p><b>{e(plan.summary_text)}</b></p>"
        '<div class="top"><div>'
        f"{_map_svg(plan)}</div><div>"
        '<div class="box"><h2>Forecast check (how stable the hotspots are)</h2>'
        f"<p>{e(plan.forecast_text)}</p></div>"
        "</div></div>"
        f"<h2>Places to patrol ({len(t)})</h2>"
        f"<table><thead><tr>{th}</tr></thead><tbody>{''.join(rows_html)}</tbody></table>"
        f"<footer><p><b>How this plan was made.</b> {e(plan.method)}</p>{notes_html}<p>Hotspot parameters: {e(_short(plan.params))}</p>"
        "<p>Hotspot Atlas · patrol plan</p></footer>"
        "</main></body></html>\n"
    )


def briefing_html(brief: Briefing, *, area: str, title: str | None = None) -> str:
    """Return an officer's shift briefing as a standalone, printable one-page HTML document.

    A4 portrait like :func:`plan_html`: the map of the places (numbered as
    the list), the ranked places with what, when in the shift, change and
    visits, the newest incidents near them, and the notes. All user text is
    HTML-escaped.

    Parameters
    ----------
    brief
        From :func:`geo.action.briefing.make_briefing`.
    area
        The area's name, for the heading.
    title
        Heading (default: "Briefing: AREA, SHIFT").

    Returns
    -------
    str
        The HTML document; the root element of the content is ``<main id="plan">``.
    """
    e = html.escape
    plan = brief.plan
    heading = title if title is not None else f"Briefing: {area}, {brief.shift.label}"
    rows = []
    for rec in brief.places.to_dict("records"):
        visits = str(int(rec["visits"])) if rec["kind"] == "cluster" else "on the way"
        rows.append(
            f'<tr><td class="rank">{int(rec["rank"])}</td><td><b>{e(str(rec["name"]))}</b>'
            f"<br>{e(str(rec['what']))}</td><td>{e(str(rec['when']))}</td>"
            f"<td>{e(str(rec['change']))}</td>"
            f'<td class="num"><b>{e(visits)}</b></td></tr>'
        )
    if not rows:
        rows.append('<tr><td colspan="5">No hot place for this selection.</td></tr>')
    recent = "".join(
        f"<tr><td>{e(pd.Timestamp(r['date']).strftime('%a %d %b %H:%M'))}</td>"
        f"<td>{e(str(r['category']))}</td><td>{e(str(r['near']))}</td></tr>"
        for r in brief.recent.head(_MAX_RECENT).to_dict("records")
    )
    recent_table = (
        "<table><thead><tr><th>When</th><th>What</th><th>Near</th></tr></thead>"
        f"<tbody>{recent}</tbody></table>"
        if recent
        else ""
    )
    cats = ", ".join(plan.categories) if plan.categories else "all categories"
    notes = [*brief.notes, *plan.messages][:_MAX_NOTES]
    notes_html = "".join(f"<p>Note: {e(_short(n))}</p>" for n in notes)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{e(heading)}</title><style>{_CSS}</style></head><body>"
        '<main id="plan">'
        f"<h1>{e(heading)}</h1>"
        f'<p class="meta">Hot places of {e(plan.period)} · {e(cats)} · generated '
        f"{e(plan.generated)}</p>"
        '<div class="top"><div>'
        f"{_places_svg(place_shapes(plan), plan.outline)}</div><div>"
        f'<div class="box"><h2>What\'s new</h2><p>{e(brief.recent_text)}</p>'
        f"{recent_table}</div></div></div>"
        f"<h2>Hot places ({len(brief.places)})</h2>"
        "<table><thead><tr><th>#</th><th>Place and what happens there</th>"
        '<th>When in the shift</th><th>Change</th><th class="num">Visits</th></tr>'
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
        f"<footer>{notes_html}<p>Hotspot Atlas · shift briefing</p></footer>"
        "</main></body></html>\n"
    )


def _short(text: str, limit: int = 260) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
