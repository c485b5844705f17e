"""The leaderboards' table model (Column, Table) and the caption helpers every table uses: one module below the
renderers (benchmark/leaderboard.py) and the seed tables (benchmark/leaderboard_seeds.py), so neither imports
the other's caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Column:
    key: str  # metric key in metrics.json ("" for the method name, "spf" for seconds per frame)
    header: str
    kind: str  # "pct" (x100), "frac" (3 decimals), "num" (2 decimals), "text", "sec", "flops" (a plain number)
    lower_is_better: bool = True


@dataclass(frozen=True)
class Table:
    title: str
    caption: str  # normaliser, points, thresholds, box protocol, data source, intervals
    columns: tuple[Column, ...]
    rows: tuple[dict[str, Any], ...]  # column key -> {"value", "ci"} | str | float


def _cell(v: Any, kind: str, with_ci: bool = True) -> str:
    if kind == "text":
        return str(v)
    if kind == "sec":
        return "n/a" if v is None else f"{v * 1000:.2f} ms"
    if kind == "flops":
        return "n/a" if v is None else f"{v:.2g}"
    if not v or v.get("value") is None:
        return "n/a"
    scale, fmt = {"pct": (100.0, "{:.2f}"), "num": (1.0, "{:.2f}")}.get(kind, (1.0, "{:.3f}"))
    s = fmt.format(v["value"] * scale)
    lo, hi = v["ci"]
    if with_ci and lo is not None and hi is not None:
        s += f" [{fmt.format(lo * scale)}, {fmt.format(hi * scale)}]"
    return s


def _sort_value(v: Any, kind: str) -> float | str:
    if kind == "text":
        return str(v)
    if kind in ("sec", "flops"):
        return float("inf") if v is None else float(v)
    return float("inf") if not v or v.get("value") is None else float(v["value"])


def _sort_key(v: Any, kind: str) -> str:
    """The data-v attribute the page's sort reads; JavaScript's parseFloat knows "Infinity", not "inf"."""
    key = _sort_value(v, kind)
    return "Infinity" if key == float("inf") else str(key)


def _source(entry: dict[str, Any]) -> str:
    return "synthetic" if entry["data_source"] == "synthetic" else "real"


def _caption(results: dict[str, Any], ds: str, entry: dict[str, Any], points: str | None = None) -> str:
    sc = results["config"]["scoring"]
    points = points or f"{sc['points']} points"
    d = results["definitions"]["nme"]
    thr = "/".join(f"{t:g}" for t in sc["thresholds"])
    return (f"dataset {ds} ({_source(entry)} data); normaliser: {d['normaliser_text']}; {points}; "
            f"thresholds {thr}; box protocol: {entry['box_protocol']}; {entry['n_frames']} frames in "
            f"{entry['n_clips']} clips; [{_interval_text(results, entry)}]; "
            f"protocol v{results['protocol_version']}")


def _interval_text(results: dict[str, Any], entry: dict[str, Any]) -> str:
    if not _has_intervals(results):
        return "no intervals: bootstrap off (compare.bootstrap.resamples 0)"
    ci = results["config"]["bootstrap"]["ci"]
    return f"{ci:.0%} {_bootstrap_text(results, entry)}"


def _has_intervals(results: dict[str, Any]) -> bool:
    return results["config"]["bootstrap"].get("resamples", 1) > 0


def _bootstrap_text(results: dict[str, Any], entry: dict[str, Any]) -> str:
    min_clips = results["config"]["bootstrap"].get("min_clips")
    if min_clips is not None and entry["n_clips"] < min_clips:
        return "moving-block bootstrap interval over frames (too few clips to resample clips)"
    cells = f"; breakdown cells with < {min_clips} clips: over frame blocks" if min_clips else ""
    return f"clip-bootstrap interval{cells}; none where it would have zero width"
