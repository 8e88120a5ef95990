"""``report.html`` of a sweep: a report an architect reads top to bottom, as one self-contained page.

Order: the answer to the limits first (how many cells meet them by their closed-form bound and by simulation, the
passing cells best first), what was swept (the spec echoed), what each number means, the figures with human titles,
then every cell in a sortable, page-width table. No external files, scripts or links: the sorting script is inline.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Mapping
from typing import Any

from sim.durations import format_duration
from sim.sweep import LIMIT_COLUMNS, SweepResult
from sim.sweep_cell import METRICS

__all__ = ["DEFINITIONS", "FIGURE_TITLES", "TABLE_COLUMNS", "figure_title", "html_report"]

DEFINITIONS: dict[str, str] = {
    "window": "the end of AWS access measured from the start of the activation, for the worst-placed user: "
    "activation + deprovisioning (Entra removal, then up to one ~40-min provisioning cycle [E-AWS]) + what the "
    "portal still allows after Identity Center removal (entitlement mode) + one permission-set session "
    "[UG23-howto], shortened by countermeasures. The bound is the closed-form worst case (what jitbox check and "
    "advise use); the simulated figure is the worst seen among the simulated requests and can only be lower.",
    "time to access": "request → usable in AWS. Fast path for the first 5 activations per 10 s per app "
    "(≤ 10 s + 10 min), otherwise the next regular cycle (≤ 10 s + 40 min) [E-AWS][E-PIMG].",
    "never provisioned": "requesters whose activation ended before provisioning carried it to Identity Center: "
    "they never got access. Simulated time-to-access figures cover only those who got access, so read them with "
    "this count.",
    "overhang": "the worst-placed user's access end − the intended end of the activation.",
}
"""The report's definitions of the terms its answer uses (the CSV columns are listed from :data:`METRICS`)."""

FIGURE_TITLES: dict[str, str] = {
    "heatmap_bound_window": "Worst-case window (closed-form bound), by countermeasure set",
    "heatmap_sim_window_max": "Worst simulated window, by countermeasure set",
    "heatmap_sim_tta_p99": "p99 time to access (simulated, with the share never provisioned)",
    "heatmap_sim_never_provisioned_share": "Share of requesters who never got access (simulated)",
}


def figure_title(name: str) -> str:
    """Return the human title of figure ``name`` (``gantt_cell_N`` → the worst-case timeline of cell N)."""
    if name.startswith("gantt_cell_"):
        return f"Worst-case timeline of cell #{name.removeprefix('gantt_cell_')}, hop by hop"
    return FIGURE_TITLES.get(name, name.replace("_", " "))


def _d(v: Any) -> str:
    return "" if v is None else format_duration(float(v))


def _pct(v: Any) -> str:
    return "" if v is None else f"{float(v):.0%}"


def _yes(v: Any) -> str:
    return "" if v is None else ("yes" if v else "no")


def _cms(v: Any) -> str:
    return str(v).replace("+", " + ").replace("_", " ")


TABLE_COLUMNS: list[tuple[str, str, Callable[[Any], str]]] = [
    ("cell", "cell", str),
    ("activation_max", "activation", _d),
    ("portal_session", "portal", _d),
    ("permission_set_session", "perm. set", _d),
    ("entitlement_mode", "mode", str),
    ("countermeasures", "countermeasures", _cms),
    ("arrivals", "arrivals", str),
    ("bound_window", "window (bound)", _d),
    ("sim_window_max", "window (sim. max)", _d),
    ("sim_tta_p50", "time to access (sim. p50)", _d),
    ("sim_tta_p99", "time to access (sim. p99)", _d),
    ("sim_never_provisioned", "never provisioned (sim.)", str),
    ("sim_never_provisioned_share", "never (share)", _pct),
    ("meets_limit_bound", "meets limit (bound)", _yes),
    ("meets_limit_sim", "meets limit (sim.)", _yes),
    ("within_bound", "sim. within bound", _yes),
]
"""The table's columns: row key, human header, formatter (the CSV/JSON keep every metric in seconds)."""

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1240px;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ddd}
.answer{background:#f4f8fb;border-left:4px solid #2b6cb0;padding:.6em 1em}
table{border-collapse:collapse;width:100%;font-size:12px;table-layout:auto}
td,th{border:1px solid #ccc;padding:3px 5px;text-align:right;vertical-align:top}
td.t,th.t{text-align:left}th{background:#eef;cursor:pointer;position:sticky;top:0}
tr.pass td{background:#eefbea}dl dt{font-weight:600}dl dd{margin:0 0 .5em 1.2em}
img{max-width:100%;border:1px solid #eee}figure{margin:1em 0}figcaption{font-weight:600;margin-bottom:.3em}
pre{white-space:pre-wrap;font-size:12px;background:#fafafa;padding:.5em}
"""

_SORT_SCRIPT = """
document.querySelectorAll('table.sortable th').forEach(function(th, col){
  th.title = 'click to sort';
  th.addEventListener('click', function(){
    var body = th.closest('table').tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var dir = th.dataset.dir === 'asc' ? -1 : 1; th.dataset.dir = dir === 1 ? 'asc' : 'desc';
    rows.sort(function(a, b){
      var x = a.cells[col].dataset.v, y = b.cells[col].dataset.v;
      var nx = parseFloat(x), ny = parseFloat(y);
      if (!isNaN(nx) && !isNaN(ny)) return dir * (nx - ny);
      return dir * String(x).localeCompare(String(y));
    });
    rows.forEach(function(r){ body.appendChild(r); });
  });
});
"""


def _table(rows: list[dict[str, Any]], css_class: str = "sortable") -> list[str]:
    present = [c for c in TABLE_COLUMNS if rows and c[0] in rows[0]]
    out = [f"<table class='{css_class}'><thead><tr>"]
    out.extend(
        f"<th class='{'t' if key in ('entitlement_mode', 'countermeasures', 'arrivals') else ''}'>{html.escape(h)}</th>"
        for key, h, _f in present
    )
    out.append("</tr></thead><tbody>")
    for row in rows:
        cls = " class='pass'" if row.get("meets_limit_bound") else ""
        cells = []
        for key, _h, fmt in present:
            value = row.get(key)
            sort_value = "" if value is None else (int(value) if isinstance(value, bool) else value)
            align = " class='t'" if key in ("entitlement_mode", "countermeasures", "arrivals") else ""
            cells.append(f"<td{align} data-v='{html.escape(str(sort_value))}'>{html.escape(fmt(value))}</td>")
        out.append(f"<tr{cls}>{''.join(cells)}</tr>")
    out.append("</tbody></table>")
    return out


def _spec_echo(result: SweepResult) -> list[str]:
    spec = result.spec
    items: list[tuple[str, str]] = [
        ("activation maximum", ", ".join(_d(v) for v in spec.activation_max)),
        ("portal session", ", ".join(_d(v) for v in spec.portal_session)),
        ("permission-set session", ", ".join(_d(v) for v in spec.permission_set_session)),
        ("entitlement mode", ", ".join(m.value for m in spec.entitlement_mode)),
        ("countermeasure sets", "; ".join(_cms(c) for c in spec.countermeasures)),
        ("arrival patterns", ", ".join(spec.arrivals)),
        ("requests per cell and replication", str(spec.activations)),
        ("replications", str(spec.replications)),
        ("seed", str(spec.seed)),
        ("cells", str(spec.n_cells)),
    ]
    if spec.base:
        items.append(("other settings (every cell)", ", ".join(f"{k} = {v}" for k, v in spec.base.items())))
    if spec.population:
        items.append(("population", ", ".join(f"{k} = {v}" for k, v in spec.population.items())))
    out = ["<table class='spec'>"]
    out.extend(f"<tr><th class='t'>{html.escape(k)}</th><td class='t'>{html.escape(v)}</td></tr>" for k, v in items)
    out.append("</table>")
    return out


def _answer(result: SweepResult, rows: list[dict[str, Any]]) -> list[str]:
    if result.limits is None or result.limits.is_empty():
        return [
            "<div class='answer'><p>No limit was given. Run <code>jitbox sweep --max-window 2h</code> (and/or "
            "<code>--max-time-to-access 15m</code>) to get the cells that meet it here, best first.</p></div>"
        ]
    lines = result.limit_lines(rows, show=0)
    out = ["<div class='answer'>", f"<p><b>{html.escape(lines[0])}</b></p>"]
    passing = result.passing()
    if passing:
        out.append(
            "<p>Cells that meet it by their bound, best first (fewest never provisioned, fewest countermeasures, "
            "longest portal session, activation and permission-set session, then shortest p99 time to access):</p>"
        )
        out.extend(_table(passing[:20], "sortable"))
    else:
        out.append(
            "<p>No cell meets it by its bound. Run <code>jitbox advise</code> with the same limit for the floor: the "
            "smallest achievable window per countermeasure set and the hop that sets it.</p>"
        )
    out.append("</div>")
    return out


def html_report(result: SweepResult, images: Mapping[str, bytes], max_rows: int = 2000) -> str:
    """Return the report page: answer, spec echo, definitions, figures (base64 PNG), the sortable table."""
    rows = result.rows()
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>jitbox sweep report</title><style>{_STYLE}</style></head><body>",
        "<h1>jitbox sweep report</h1>",
        "<p>Which PIM activation, access-portal and permission-set durations keep AWS access within the limit, "
        "and what they cost in time to access.</p>",
        "<h2>Answer</h2>",
        *_answer(result, rows),
        "<h2>What was swept</h2>",
        *_spec_echo(result),
        "<h2>What the numbers mean</h2><dl>",
    ]
    for term, text in DEFINITIONS.items():
        parts.append(f"<dt>{html.escape(term)}</dt><dd>{html.escape(text)}</dd>")
    parts.append("</dl><details><summary>every CSV/JSON column</summary><dl>")
    for key, text in {**METRICS, **LIMIT_COLUMNS}.items():
        parts.append(f"<dt><code>{html.escape(key)}</code></dt><dd>{html.escape(text)}</dd>")
    parts.append("</dl></details>")
    parts.append(f"<h2>Run</h2><pre>{html.escape(result.summary())}</pre>")
    parts.append("<h2>Figures</h2>")
    for name, data in images.items():
        title = html.escape(figure_title(name))
        encoded = base64.b64encode(data).decode("ascii")
        parts.append(
            f"<figure><figcaption>{title}</figcaption>"
            f"<img alt='{title}' src='data:image/png;base64,{encoded}'></figure>"
        )
    shown = rows[:max_rows]
    parts.append(f"<h2>All cells ({len(rows)}; {len(shown)} shown; click a header to sort)</h2>")
    parts.extend(_table(shown))
    parts.append(f"<script>{_SORT_SCRIPT}</script></body></html>")
    return "\n".join(parts)
