"""Leaderboards from a metrics.json: Markdown, CSV, LaTeX and one self-contained sortable HTML page.

One table model (`tables`) feeds every renderer, so the four files always show the same numbers. Each
table states its normaliser, point set, thresholds, box protocol and data source; synthetic numbers are
marked "synthetic" in every format and never labelled as 300-VW / 300-W results.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from redbench._io import write_text_atomic
from redbench.benchmark.breakdowns import QUANTITY_BREAKDOWNS
from redbench.benchmark.leaderboard_seeds import extra_tables
from redbench.benchmark.table_model import (Column, Table, _caption, _cell, _has_intervals, _sort_key, _sort_value,
                                            _source)

PREVIEW_INDEX = "index.json"  # written by redbench.benchmark.previews in <previews_dir>/<dataset>/

SYNTHETIC_WARNING = ("SYNTHETIC DATA: numbers on the embedded synthetic datasets test the pipeline; they are not "
                     "300-VW, 300-W or Talking Face results.")


def main_table(results: dict[str, Any], ds: str) -> Table:
    entry = results["datasets"][ds]
    sc = results["config"]["scoring"]
    tag = f"{sc['norm'].replace('inter_', 'i-')}/{sc['points']}"
    cols = [Column("", "method", "text"),
            Column("nme", f"NME % ({tag}, frame-pooled)", "pct"),
            Column("nme/video", f"NME % ({tag}, video-avg)", "pct")]
    for t in sc["thresholds"]:
        cols += [Column(f"auc@{t:g}", f"AUC@{t:g}", "frac", lower_is_better=False),
                 Column(f"fr@{t:g}", f"FR@{t:g} %", "pct")]
    cols += [Column("nme_clean", f"NME % clean frames ({tag})", "pct"),
             Column("motion", f"motion err % ({tag})", "pct"),
             Column("jitter", f"jitter % ({tag})", "pct"),
             # FHR's (AAAI 2019) errors, video-averaged as FHR does: % of max(w, h) of the GT shape; frames
             Column("fhr_rmse", "FHR e2 RMSE (% face, video-avg)", "num"),
             Column("fhr_delay", "FHR delay (frames, video-avg)", "num"),
             Column("fhr_sta1", "FHR sta1 (% face, video-avg)", "num"),
             Column("fhr_sta2", "FHR sta2 (% face, video-avg)", "num"),
             Column("spf", "time / frame", "sec"),
             # the training cost beside each row (counted for networks, estimated for SDM / ERT; train_info.json)
             Column("train_flops", "training FLOPs", "flops")]
    rows = []
    for m, rec in entry["methods"].items():
        row: dict[str, Any] = {"": m, "spf": rec.get("seconds_per_frame"),
                               "train_flops": rec["prediction"].get("train_flops")}
        row.update({c.key: rec["metrics"].get(c.key) for c in cols if c.key not in ("", "spf", "train_flops")})
        rows.append(row)
    rows.sort(key=lambda r: _sort_value(r["nme"], "pct"))
    return Table(f"{ds} ({_source(entry)}): leaderboard", _caption(results, ds, entry), tuple(cols), tuple(rows))


def breakdown_table(results: dict[str, Any], ds: str, kind: str, metric: str = "nme") -> Table | None:
    entry = results["datasets"][ds]
    groups = entry["breakdowns"].get(kind, {}).get("groups", {})
    if len(groups) < 2:  # one group repeats the main table
        return None
    sc = results["config"]["scoring"]
    cols = [Column("", "method", "text")] + [
        Column(g, f"{g} (n={v['n_frames']})", "pct") for g, v in groups.items()]
    rows = []
    for m in entry["methods"]:
        row: dict[str, Any] = {"": m}
        row.update({g: v["methods"].get(m, {}).get(metric) for g, v in groups.items()})
        rows.append(row)
    note = entry["breakdowns"][kind].get("info", {}).get("note", "")
    pts = "each group's own points" if kind in QUANTITY_BREAKDOWNS else f"{sc['points']} pts"
    return Table(f"{ds} ({_source(entry)}): NME % by {kind.replace('_', ' ')}",
                 f"NME % ({sc['norm']}, {pts}, frame-pooled) by {kind.replace('_', ' ')}. {note} "
                 + _caption(results, ds, entry, pts),
                 tuple(cols), tuple(rows))


def paired_table(results: dict[str, Any], ds: str) -> Table | None:
    entry = results["datasets"][ds]
    tests = entry.get("paired_tests", [])
    if not tests:
        return None
    cols = (Column("", "comparison", "text"), Column("metric", "metric", "text"),
            Column("diff", "mean difference % (a - b)", "pct"), Column("p", "Wilcoxon p (clips)", "text"),
            Column("n", "clips", "text"))
    rows = tuple({"": f"{t['a']} vs {t['b']}", "metric": t["metric"], "diff": t["diff"],
                  "p": "n/a" if t["wilcoxon_p"] is None else f"{t['wilcoxon_p']:.3g}", "n": str(t["n_clips"])}
                 for t in tests)
    interval = ("the interval is the paired clip bootstrap of the frame-pooled difference. "
                if _has_intervals(results) else "")
    return Table(f"{ds} ({_source(entry)}): paired tests", "Paired over clips: Wilcoxon signed-rank on per-clip "
                 f"means; {interval}" + _caption(results, ds, entry), cols, rows)


def tables(results: dict[str, Any]) -> list[Table]:
    out: list[Table] = []
    for ds in results["datasets"]:
        out.append(main_table(results, ds))
        for kind in ("subset", "frames", "yaw", "occlusion", "occlusion_age", "motion", "landmark_group",
                     "point_visibility"):
            t = breakdown_table(results, ds, kind)
            if t:
                out.append(t)
        t = paired_table(results, ds)
        if t:
            out.append(t)
        out += extra_tables(results, ds)
    return out


def _any_synthetic(results: dict[str, Any]) -> bool:
    return any(e["data_source"] == "synthetic" for e in results["datasets"].values())


def _provenance(results: dict[str, Any]) -> str:
    return (f"redbench {results['redbench_version']}, commit {results['git_commit']}, params {results['params_hash']}, "
            f"schema v{results['schema_version']}, protocol v{results['protocol_version']}, "
            f"created {results.get('created_utc', '?')}")


def to_markdown(results: dict[str, Any]) -> str:
    lines = ["# redbench leaderboard", ""]
    if _any_synthetic(results):
        lines += [f"**{SYNTHETIC_WARNING}**", ""]
    lines += [f"_{_provenance(results)}_", ""]
    for t in tables(results):
        lines += [f"## {t.title}", "", t.caption, "",
                  "| " + " | ".join(c.header for c in t.columns) + " |",
                  "|" + "|".join("---" if c.kind == "text" else "---:" for c in t.columns) + "|"]
        for r in t.rows:
            lines.append("| " + " | ".join(_cell(r.get(c.key), c.kind) for c in t.columns) + " |")
        lines.append("")
    return "\n".join(lines)


def to_csv(results: dict[str, Any]) -> str:
    """Long format: one row per (dataset, breakdown group, method, metric) with its labels."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["dataset", "data_source", "box_protocol", "breakdown", "group", "method", "metric", "value",
                "ci_low", "ci_high", "normaliser", "points", "threshold", "protocol_version"])
    defs = results["definitions"]

    def emit(ds: str, entry: dict[str, Any], kind: str, group: str, m: str, k: str, v: dict[str, Any]) -> None:
        base = k.split("/")[0]
        d = defs.get(base, defs.get("nme", {}))
        # quantity breakdowns score each group's own points (the eyes, the visible points, ...)
        points = f"{group} points" if kind in QUANTITY_BREAKDOWNS else d.get("points", "")
        w.writerow([ds, entry["data_source"], entry["box_protocol"], kind, group, m, k, v["value"], v["ci"][0],
                    v["ci"][1], d.get("normaliser", ""), points, d.get("threshold", ""),
                    results["protocol_version"]])

    for ds, entry in results["datasets"].items():
        for m, rec in entry["methods"].items():
            for k, v in rec["metrics"].items():
                emit(ds, entry, "all", "all", m, k, v)
        for kind, b in entry["breakdowns"].items():
            for g, grp in b["groups"].items():
                for m, mets in grp["methods"].items():
                    for k, v in mets.items():
                        emit(ds, entry, kind, g, m, k, v)
        for m, rec in entry.get("seeds", {}).get("methods", {}).items():  # the mean over training seeds
            for k in ("mean", "mean/video"):
                emit(ds, entry, "over_seeds", f"{len(rec['seeds'])} seeds", m, "nme" + k[len("mean"):], rec[k])
    return buf.getvalue()


_LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(s: str) -> str:
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in s)


def to_latex(results: dict[str, Any]) -> str:
    """One booktabs table per leaderboard table (needs \\usepackage{booktabs})."""
    out = ["% redbench leaderboard; " + latex_escape(_provenance(results))]
    if _any_synthetic(results):
        out.append("% " + SYNTHETIC_WARNING)
    for t in tables(results):
        out += [r"\begin{table}[t]", r"\centering", r"\small",
                r"\caption{" + latex_escape(t.title + ". " + t.caption) + "}",
                r"\begin{tabular}{" + "".join("l" if c.kind == "text" else "r" for c in t.columns) + "}",
                r"\toprule", " & ".join(latex_escape(c.header) for c in t.columns) + r" \\", r"\midrule"]
        for r in t.rows:
            out.append(" & ".join(latex_escape(_cell(r.get(c.key), c.kind)) for c in t.columns) + r" \\")
        out += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    return "\n".join(out)


_SORT_JS = """
document.querySelectorAll('table.sortable th').forEach(function (th) {
  th.addEventListener('click', function () {
    var table = th.closest('table'), body = table.tBodies[0], i = th.cellIndex;
    var asc = th.dataset.dir !== 'asc'; th.dataset.dir = asc ? 'asc' : 'desc';
    var rows = Array.from(body.rows).sort(function (a, b) {
      var x = a.cells[i].dataset.v, y = b.cells[i].dataset.v, nx = parseFloat(x), ny = parseFloat(y);
      var c = (isNaN(nx) || isNaN(ny)) ? x.localeCompare(y) : nx - ny;
      return asc ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
"""

_CSS = """
body{font-family:sans-serif;margin:1.5em;color:#222} table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border-bottom:1px solid #ccc;padding:.25em .6em;font-size:13px;text-align:right}
th{cursor:pointer;background:#f3f3f3;position:sticky;top:0} th:first-child,td:first-child{text-align:left}
.warn{background:#fff3cd;border:1px solid #e0b000;padding:.6em;font-weight:bold}
.cap{font-size:12px;color:#555;max-width:70em} .plots img{max-width:48%;margin:.3em;border:1px solid #ddd}
"""


def _html_table(t: Table) -> str:
    e = html.escape
    parts = [f"<h2>{e(t.title)}</h2><p class='cap'>{e(t.caption)}</p><table class='sortable'><thead><tr>"]
    parts += [f"<th title='{e(c.key)}'>{e(c.header)}</th>" for c in t.columns]
    parts.append("</tr></thead><tbody>")
    for r in t.rows:
        cells = [f"<td data-v='{e(_sort_key(r.get(c.key), c.kind))}'>{e(_cell(r.get(c.key), c.kind))}</td>"
                 for c in t.columns]
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


@dataclass(frozen=True)
class Preview:
    href: str  # the animation's path relative to the leaderboard page
    caption: str


def preview_links(previews_dir: str | os.PathLike | None, datasets: Sequence[str],
                  page_dir: str | os.PathLike) -> list[Preview]:
    """The previews `redbench previews` left in <previews_dir>/<dataset>/ (its index.json), linked relative to
    the page's folder; none where the folder or a listed file is absent."""
    out: list[Preview] = []
    if not previews_dir:
        return out
    for ds in datasets:
        folder = Path(previews_dir) / ds
        index = folder / PREVIEW_INDEX
        if not index.is_file():
            continue
        obj = json.loads(index.read_text(encoding="utf-8"))
        for p in obj.get("previews", []):
            if not (folder / p["file"]).is_file():
                continue
            nmes = ", ".join(f"{m} {100 * v:.2f} %" for m, v in p["clip_nme"].items() if v is not None)
            caption = (f"{ds}: the {p['pick']} clip of {obj['by']} by clip mean NME, {p['clip']} ({p['subset']}), "
                       f"every {p['stride']} frame(s); clip mean NME (inter-ocular, 68 points, "
                       f"{'/'.join(obj['box_protocols'])} boxes, {obj['data_source']} data): {nmes}")
            href = Path(os.path.relpath(folder / p["file"], page_dir)).as_posix()
            out.append(Preview(href, caption))
    return out


def to_html(results: dict[str, Any], plots: Sequence[tuple[Path, str]] = (), previews: Sequence[Preview] = ()) -> str:
    """A self-contained page: sortable tables (click a header), plots inlined as base64 PNG, and the animated
    previews linked (files beside the page, not inlined: they are large)."""
    e = html.escape
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>redbench leaderboard</title>",
             f"<style>{_CSS}</style></head><body><h1>redbench leaderboard</h1>"]
    if _any_synthetic(results):
        parts.append(f"<p class='warn'>{e(SYNTHETIC_WARNING)}</p>")
    parts.append(f"<p class='cap'>{e(_provenance(results))}. Click a column header to sort.</p>")
    all_tables = tables(results)
    main = [t for t in all_tables if t.title.endswith(": leaderboard")]
    rest = [t for t in all_tables if t not in main]
    parts += [_html_table(t) for t in main]  # the leaderboards, the previews, the plots, then the breakdowns
    if previews:
        parts.append("<h2>Previews</h2><p class='cap'>Test clips as the methods saw them: each method's landmarks "
                     "in its own panel with the ground truth in green, the per-frame NME under them (click to "
                     "open).</p><div class='plots'>")
        for p in previews:
            parts.append("<figure style='display:inline-block;vertical-align:top;width:48%;margin:0'>"
                         f"<a href='{e(p.href)}'><img style='max-width:100%' alt='{e(p.caption)}' "
                         f"src='{e(p.href)}'></a><figcaption class='cap'>{e(p.caption)}</figcaption></figure>")
        parts.append("</div>")
    if plots:
        parts.append("<h2>Plots</h2><div class='plots'>")
        for path, caption in plots:
            data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
            parts.append("<figure style='display:inline-block;vertical-align:top;width:48%;margin:0'>"
                         f"<img style='max-width:100%' "
                         f"alt='{e(caption)}' src='data:image/png;base64,{data}'><figcaption class='cap'>"
                         f"{e(caption)}</figcaption></figure>")
        parts.append("</div>")
    parts += [_html_table(t) for t in rest]
    parts.append(f"<script>{_SORT_JS}</script></body></html>")
    return "".join(parts)


def write_leaderboards(results: dict[str, Any], out_dir: Path, plots: Sequence[tuple[Path, str]] = (),
                       previews: Sequence[Preview] = ()) -> list[Path]:
    """results/leaderboard.{md,csv,tex,html}; every write is atomic."""
    files = {"leaderboard.md": to_markdown(results), "leaderboard.csv": to_csv(results),
             "leaderboard.tex": to_latex(results), "leaderboard.html": to_html(results, plots, previews)}
    paths = []
    for name, text in files.items():
        write_text_atomic(out_dir / name, text)
        paths.append(out_dir / name)
    return paths
