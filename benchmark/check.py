"""`redbench check`: compare a metrics.json with a committed reference and flag regressions.

A reference (benchmark/reference/*.json) holds the flat headline numbers of one run (results.summary),
where they came from, and per-metric tolerances. A metric regresses when it is worse than the reference by
more than abs + rel * |reference|. Every metric has a known direction (`DIRECTIONS`): errors, failure rates,
jitter and FHR's stability errors are better lower, AUC higher, and FHR's time delay (frames ahead of or
behind the truth) nearer 0; a reference naming a metric of no known direction is refused, and so is one with
no metrics, or a value or tolerance that is not a finite number (a NaN reference "passes" every value; a
None value, a metric that is undefined on the data, such as jitter on stills, is kept). Tolerances are looked
up by exact key, then by the first matching fnmatch pattern ("*/nme", "*auc@*"), then "default"; params can
override the file's. A reference records the protocol its numbers were scored under (normaliser, point set,
thresholds, and per dataset the box protocol and data source); metrics of another protocol are refused,
naming what differs, rather than passed (an inter-ocular reference "passed" diagonal-normalised metrics).
"""

from __future__ import annotations

import fnmatch
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redbench._io import read_json
from redbench.benchmark.results import PROTOCOL_VERSION, load_results, summary

REFERENCE_SCHEMA = "redbench-reference/1"
DEFAULT_TOLERANCES: dict[str, dict[str, float]] = {"default": {"abs": 0.002, "rel": 0.05}}
# metric name (a summary key's last part, before "/video" or "/pooled") -> which way is better; a name that
# starts with a prefix ending "@" or "[" (auc@0.08, fr@0.1, nme[box,49]) is looked up by that prefix
DIRECTIONS = {"nme": "lower", "nme[": "lower", "nme_clean": "lower", "nme_visible": "lower",
              "nme_occluded": "lower", "motion": "lower", "jitter": "lower", "fr@": "lower", "auc@": "higher",
              "fhr_rmse": "lower", "fhr_sta1": "lower", "fhr_sta2": "lower", "fhr_delay": "nearer 0"}
_POOLINGS = ("video", "pooled")


class CheckError(ValueError):
    """A reference file that cannot be used; the message names the file."""


@dataclass(frozen=True)
class CheckRow:
    key: str
    reference: float | None
    value: float | None
    allowed: float  # the tolerance in the metric's units
    status: str  # "ok" | "regressed" | "improved" | "missing" | "new"

    @property
    def delta(self) -> float | None:
        if self.reference is None or self.value is None:
            return None
        return self.value - self.reference


def direction(key: str) -> str | None:
    """"lower", "higher" or "nearer 0": which way summary key `key`'s metric is better (None: not known)."""
    parts = key.split("/")
    name = parts[-2] if len(parts) > 1 and parts[-1] in _POOLINGS else parts[-1]
    for prefix in ("auc@", "fr@", "nme["):
        if name.startswith(prefix):
            return DIRECTIONS[prefix]
    return DIRECTIONS.get(name)


def how_much_worse(key: str, value: float, reference: float) -> float:
    """How much worse `value` is than `reference` in the metric's own direction (negative: better)."""
    way = direction(key)
    if way == "higher":
        return reference - value
    if way == "nearer 0":
        return abs(value) - abs(reference)
    return value - reference


def tolerance_for(key: str, tolerances: dict[str, dict[str, float]]) -> dict[str, float]:
    if key in tolerances:
        return tolerances[key]
    for pattern, tol in tolerances.items():
        if pattern != "default" and fnmatch.fnmatchcase(key, pattern):
            return tol
    return tolerances.get("default", DEFAULT_TOLERANCES["default"])


def compare_values(flat: dict[str, float | None], reference: dict[str, Any],
                   tolerances: dict[str, dict[str, float]] | None = None) -> list[CheckRow]:
    """One row per reference metric (+ "new" rows for metrics the reference lacks)."""
    tols = {**DEFAULT_TOLERANCES, **reference.get("tolerances", {}), **(tolerances or {})}
    check_reference_values(reference, "the reference")
    check_tolerances(tols, "tolerances")
    rows = []
    for key, ref in reference["metrics"].items():
        tol = tolerance_for(key, tols)
        allowed = float(tol.get("abs", 0.0)) + float(tol.get("rel", 0.0)) * abs(ref or 0.0)
        if key not in flat:
            rows.append(CheckRow(key, ref, None, allowed, "missing"))
            continue
        val = flat[key]
        if ref is None or val is None:
            rows.append(CheckRow(key, ref, val, allowed, "ok" if ref is None and val is None else "regressed"))
            continue
        if not _finite_number(val):  # NaN or inf is never within a tolerance, either way
            rows.append(CheckRow(key, ref, val, allowed, "regressed"))
            continue
        worse = how_much_worse(key, val, ref)
        status = "regressed" if worse > allowed else "improved" if -worse > allowed else "ok"
        rows.append(CheckRow(key, ref, val, allowed, status))
    rows += [CheckRow(k, None, v, 0.0, "new") for k, v in flat.items() if k not in reference["metrics"]]
    return rows


def _finite_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_reference_values(ref: dict[str, Any], where: str) -> None:
    """Refuse (CheckError) a reference with no metrics, a value that is neither a finite number nor None, or
    a metric of no known direction."""
    metrics = ref.get("metrics")
    if not isinstance(metrics, dict) or not metrics:
        raise CheckError(f"{where}: no metrics (an empty reference would pass any run)")
    for key, v in metrics.items():
        if v is not None and not _finite_number(v):
            raise CheckError(f"{where}: metrics.{key}: must be a finite number or null, got {v!r}")
        if direction(key) is None:
            raise CheckError(f"{where}: metrics.{key}: no known direction for this metric (known: "
                             f"{', '.join(DIRECTIONS)})")


def check_tolerances(tolerances: Any, where: str) -> None:
    """Refuse (CheckError) tolerances that are not {pattern: {"abs": x, "rel": y}} with finite x, y >= 0."""
    if not isinstance(tolerances, dict):
        raise CheckError(f"{where}: expected a mapping of metric pattern -> {{abs, rel}}, got "
                         f"{type(tolerances).__name__}")
    for pattern, tol in tolerances.items():
        if not isinstance(tol, dict) or not tol or set(tol) - {"abs", "rel"}:
            raise CheckError(f"{where}.{pattern}: expected {{\"abs\": x, \"rel\": y}}, got {tol!r}")
        for k, v in tol.items():
            if not _finite_number(v) or v < 0:
                raise CheckError(f"{where}.{pattern}.{k}: must be a finite number >= 0, got {v!r}")


def reference_tolerances(path: str | os.PathLike) -> dict[str, dict[str, float]] | None:
    """The tolerances of an existing reference file (checked), for `--update` to keep; its metrics may be
    anything, as they are about to be replaced."""
    ref = read_json(path, CheckError, "reference file not found")
    tols = ref.get("tolerances") if isinstance(ref, dict) else None
    if tols is not None:
        check_tolerances(tols, f"{path}: tolerances")
    return tols


def load_reference(path: str | os.PathLike) -> dict[str, Any]:
    """A reference file, checked: its schema, metrics (finite numbers or null, known directions), tolerances
    and the types of its source and protocol records."""
    path = Path(path)
    ref = read_json(path, CheckError, "reference file not found")
    if not isinstance(ref, dict) or ref.get("schema") != REFERENCE_SCHEMA or not isinstance(ref.get("metrics"), dict):
        raise CheckError(f"{path}: not a redbench reference (expected schema {REFERENCE_SCHEMA!r} and a metrics map)")
    check_reference_values(ref, str(path))
    check_tolerances(ref.get("tolerances", {}), f"{path}: tolerances")
    for name in ("source", "protocol"):
        if name in ref and not isinstance(ref[name], dict):
            raise CheckError(f"{path}: {name}: expected a mapping, got {type(ref[name]).__name__}")
    return ref


def protocol_of(results: dict[str, Any]) -> dict[str, Any]:
    """What a number means: normaliser, point set, thresholds, and per dataset box protocol and data source."""
    scoring = results["config"]["scoring"]
    return {
        "norm": scoring["norm"], "points": scoring["points"], "thresholds": list(scoring["thresholds"]),
        "box_protocol": {ds: e["box_protocol"] for ds, e in results["datasets"].items()},
        "data_source": {ds: e["data_source"] for ds, e in results["datasets"].items()},
    }


def protocol_mismatches(got: dict[str, Any], want: dict[str, Any] | None) -> list[str]:
    """One line per protocol field where metrics (`got`) and reference (`want`) differ."""
    if not isinstance(want, dict):
        return ["the reference records no protocol (normaliser, points, thresholds, box protocol, data source): "
                "re-make it with `redbench check --update`"]
    names = {"norm": "normaliser", "points": "point set", "thresholds": "thresholds",
             "box_protocol": "box protocol", "data_source": "data source"}
    out = []
    for key, name in names.items():
        if key not in want:
            out.append(f"the reference records no {name}")
        elif isinstance(want[key], dict):
            for ds, w in want[key].items():
                g = got[key].get(ds)
                if g is not None and g != w:
                    out.append(f"{ds}: {name} {g} != reference's {w}")
        elif got[key] != want[key]:
            out.append(f"{name} {got[key]} != reference's {want[key]}")
    return out


def make_reference(results: dict[str, Any], tolerances: dict[str, dict[str, float]] | None = None) -> dict[str, Any]:
    """A reference file's object from a metrics.json object."""
    return {
        "schema": REFERENCE_SCHEMA,
        "source": {k: results.get(k) for k in ("git_commit", "params_hash", "created_utc", "redbench_version",
                                                "protocol_version")}
        | {"data_source": {ds: e["data_source"] for ds, e in results["datasets"].items()},
           "manifest_sha256": {ds: e["manifest_sha256"] for ds, e in results["datasets"].items()}},
        "protocol": protocol_of(results),
        "tolerances": tolerances or DEFAULT_TOLERANCES,
        "metrics": summary(results),
    }


def check(metrics_path: str | os.PathLike, reference_path: str | os.PathLike,
          tolerances: dict[str, dict[str, float]] | None = None) -> tuple[list[CheckRow], list[str]]:
    """(rows, problems): problems are provenance mismatches that make the numbers incomparable."""
    results = load_results(metrics_path)
    ref = load_reference(reference_path)
    problems = []
    src = ref.get("source", {})
    if src.get("protocol_version") not in (None, results["protocol_version"]):
        problems.append(f"protocol version {results['protocol_version']} != reference's {src['protocol_version']}")
    if results["protocol_version"] != PROTOCOL_VERSION:
        problems.append(f"{metrics_path}: protocol version {results['protocol_version']} is not this redbench's "
                        f"{PROTOCOL_VERSION}")
    problems += protocol_mismatches(protocol_of(results), ref.get("protocol"))
    return compare_values(summary(results), ref, tolerances), problems


def format_table(rows: list[CheckRow], show_all: bool = False) -> str:
    """A plain-text table of the rows that are not ok (or all rows)."""
    shown = [r for r in rows if show_all or r.status not in ("ok", "new")]
    if not shown:
        return ""

    def f(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.5g}"

    width = max(len("metric"), *(len(r.key) for r in shown))
    lines = [f"{'metric':<{width}}  {'reference':>10}  {'value':>10}  {'delta':>10}  {'allowed':>9}  status"]
    for r in shown:
        d = r.delta
        lines.append(f"{r.key:<{width}}  {f(r.reference):>10}  {f(r.value):>10}  "
                     f"{'n/a' if d is None else f'{d:+.5g}':>10}  {r.allowed:>9.3g}  {r.status}")
    return "\n".join(lines)
