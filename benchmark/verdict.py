"""The verdict of a run with several training seeds, written from its files (`redbench verdict`).

verdict.csv: one row per comparison and box protocol -- the reference method (RED) against its static
counterpart (RED-static), against the best static method and against that method + smoothing -- with the
numbers of compare's paired hierarchical tests (metrics.json `seeds`, benchmark/seed_compare.py) in NME
points: the difference of the means over seeds with its interval, the TOST margin and p-value, the verdict.
seeds.csv: one row per trained model (a folder holding train_info.json): its best validation NME, its test
NME (the dataset under the main results' box protocol), training FLOPs and wall time, whether it converged.
verdict.md: the verdict table, one sentence per row whose words follow from the numbers (`check_rows`).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from redbench.benchmark.hierarchical import verdict

log = logging.getLogger(__name__)

VERDICT_COLUMNS = ("method_a", "method_b", "protocol", "n_seeds_a", "n_seeds_b", "diff_points", "ci_low",
                   "ci_high", "tost_margin", "tost_p", "verdict")
SEED_COLUMNS = ("method", "seed", "best_val_nme", "test_nme", "train_flops", "train_wall_s", "converged")


class VerdictError(ValueError):
    """Result or model files the verdict cannot be written from; names the file."""


@dataclass(frozen=True)
class Comparisons:
    reference: str = "red"  # method_a of every row
    counterpart: str = "red_static"  # the reference without time
    static: tuple[str, ...] = ("sdm", "ert", "cnn_regression", "heatmap")  # best static: the lowest of these
    dataset: str = "300vw"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise VerdictError(f"{path}: not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise VerdictError(f"{path}: not valid JSON: {e}") from None


def protocol_results(results_dir: str | Path) -> dict[str, tuple[Path, dict[str, Any]]]:
    """box protocol -> (its metrics.json, the object): the main results and every box-<protocol>/ folder."""
    main_path = Path(results_dir) / "metrics.json"
    main = _read_json(main_path)
    ds = next(iter(main.get("datasets", {}).values()), None)
    if ds is None:
        raise VerdictError(f"{main_path}: no dataset scored")
    out = {ds["box_protocol"]: (main_path, main)}
    for name in main.get("protocols", {}):
        path = Path(results_dir) / main["protocols"][name]["results"]
        out[name] = (path, _read_json(path))
    return out


def _seeds_of(path: Path, results: dict[str, Any], dataset: str) -> dict[str, Any]:
    entry = results.get("datasets", {}).get(dataset)
    if entry is None:
        raise VerdictError(f"{path}: no dataset {dataset!r}")
    if "seeds" not in entry:
        raise VerdictError(f"{path}: {dataset} has no `seeds` (compare found one seed store per method; "
                           "predict each seed into predictions/<method>/seed-<k>/)")
    return entry["seeds"]


def verdict_rows(results_dir: str | Path, cmp: Comparisons = Comparisons()) -> list[dict[str, Any]]:
    """The rows of verdict.csv, per box protocol: reference vs counterpart, vs the best static method (lowest
    mean NME over seeds under that protocol) and vs that method + smoothing, where compare tested them."""
    rows = []
    for protocol, (path, results) in protocol_results(results_dir).items():
        seeds = _seeds_of(path, results, cmp.dataset)
        means = {m: rec["mean"]["value"] for m, rec in seeds["methods"].items()}
        static = [m for m in cmp.static if m in means]
        against = [cmp.counterpart]
        if static:
            best = min(static, key=means.__getitem__)
            against += [best, f"{best}+smooth"]
        tests = {t["b"]: t for t in seeds["tests"] if t["a"] == cmp.reference}
        for b in against:
            t = tests.get(b)
            if t is None:
                log.warning("%s: no hierarchical test of %s against %s", path, cmp.reference, b)
                continue
            lo, hi = t["diff"]["ci"]
            rows.append({"method_a": t["a"], "method_b": b, "protocol": protocol, "n_seeds_a": t["n_seeds_a"],
                         "n_seeds_b": t["n_seeds_b"], "diff_points": 100 * t["diff"]["value"],
                         "ci_low": None if lo is None else 100 * lo, "ci_high": None if hi is None else 100 * hi,
                         "tost_margin": 100 * t["tost"]["margin"], "tost_p": t["tost"]["p"],
                         "verdict": t["verdict"], "alpha": 1.0 - seeds["ci"]})
    return rows


def check_rows(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Rows whose verdict word does not follow from their own numbers (hierarchical.verdict); [] when all do."""
    bad = []
    for r in rows:
        nan = float("nan")
        lo = nan if r["ci_low"] is None else float(r["ci_low"]) / 100
        hi = nan if r["ci_high"] is None else float(r["ci_high"]) / 100
        p = nan if r["tost_p"] in (None, "") else float(r["tost_p"])
        want = verdict(lo, hi, p, float(r.get("alpha", 0.05)))
        if want != r["verdict"]:
            bad.append(f"{r['method_a']} vs {r['method_b']} ({r['protocol']}): says {r['verdict']!r}, the numbers "
                       f"give {want!r}")
    return bad


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([_fmt(r.get(c)) for c in columns])
    return buf.getvalue()


def sentence(r: dict[str, Any]) -> str:
    """The reading of one row, in words that follow from its verdict."""
    ci = (f" [{r['ci_low']:+.2f}, {r['ci_high']:+.2f}]" if r["ci_low"] is not None else " (no interval)")
    head = (f"{r['method_a']} - {r['method_b']} under {r['protocol']} boxes ({r['n_seeds_a']} / {r['n_seeds_b']} "
            f"seeds): {r['diff_points']:+.2f} NME points{ci}")
    m = f"{r['tost_margin']:g}"
    reading = {"better": f"{r['method_a']} is better (lower error)",
               "worse": f"{r['method_a']} is worse (higher error)",
               "equivalent": f"equivalent within +-{m} point(s)",
               "unresolved": f"not resolved at this number of seeds (neither a difference nor equivalence "
                             f"within +-{m} point(s))"}[r["verdict"]]
    return f"{head}: {reading}."


def to_markdown(rows: Sequence[dict[str, Any]], note: str) -> str:
    lines = ["| A | B | box protocol | seeds A / B | A - B, NME points [95 % interval] | TOST p (margin) | verdict |",
             "|---|---|---|---:|---:|---:|---|"]
    for r in rows:
        ci = f" [{r['ci_low']:+.2f}, {r['ci_high']:+.2f}]" if r["ci_low"] is not None else ""
        p = "n/a" if r["tost_p"] is None else f"{r['tost_p']:.3g}"
        lines.append(f"| {r['method_a']} | {r['method_b']} | {r['protocol']} | {r['n_seeds_a']} / {r['n_seeds_b']} | "
                     f"{r['diff_points']:+.2f}{ci} | {p} (+-{r['tost_margin']:g}) | {r['verdict']} |")
    return "\n".join([note, "", *lines, "", *(f"- {sentence(r)}" for r in rows)]) + "\n"


def verdict_markdown(rows: Sequence[dict[str, Any]], dataset: str = "300vw") -> str:
    """verdict.md: the note on what the numbers are, the table and one sentence per row."""
    margin = rows[0]["tost_margin"] if rows else None
    note = (f"Synthetic data ({dataset}-style test set), NME inter-ocular, 68 points; A - B < 0: A has the lower "
            f"error. Intervals: paired hierarchical bootstrap over training seeds, test identities and their clips; "
            f"equivalence: two one-sided tests at +-{margin:g} NME point(s)." if rows else "No comparison found.")
    return to_markdown(rows, note)


def seed_rows(models_dirs: str | Path | Sequence[str | Path], results_dir: str | Path,
              dataset: str = "300vw") -> list[dict[str, Any]]:
    """One row per trained model under models_dirs (each folder with a train_info.json), sorted by method and
    seed; test_nme from the main results' `seeds` (or, for a method with one store, its headline NME when
    the seed is the results' training seed)."""
    roots = [Path(models_dirs)] if isinstance(models_dirs, (str, Path)) else [Path(d) for d in models_dirs]
    path = Path(results_dir) / "metrics.json"
    results = _read_json(path)
    entry = results.get("datasets", {}).get(dataset, {})
    by_seed: dict[tuple[str, int], float] = {}
    for m, rec in entry.get("seeds", {}).get("methods", {}).items():
        by_seed.update({(m, int(s)): v for s, v in zip(rec["seeds"], rec["nme"])})
    train_seed = results.get("seeds", {}).get("train")
    for m, rec in entry.get("methods", {}).items():
        if train_seed is not None and (m, train_seed) not in by_seed:
            by_seed[(m, int(train_seed))] = rec["metrics"]["nme"]["value"]
    rows = []
    for info_path in sorted(p for root in roots for p in root.rglob("train_info.json")):
        info = _read_json(info_path)
        metrics_path = info_path.with_name("metrics.json")
        metrics = _read_json(metrics_path) if metrics_path.is_file() else {}
        cost = metrics.get("cost") or info.get("cost") or {}
        try:
            method, seed = str(info["method"]), int(info["seed"])
        except (KeyError, TypeError, ValueError):
            raise VerdictError(f"{info_path}: no method or seed") from None
        conv = metrics.get("converged")
        rows.append({"method": method, "seed": seed, "best_val_nme": metrics.get("best_val_nme_inter_ocular"),
                     "test_nme": by_seed.get((method, seed)), "train_flops": cost.get("flops"),
                     "train_wall_s": cost.get("wall_s", info.get("seconds")),
                     "converged": "" if conv is None else ("yes" if conv else "no"), "folder": str(info_path.parent)})
    dup = {(r["method"], r["seed"]) for r in rows if sum((q["method"], q["seed"]) == (r["method"], r["seed"])
                                                         for q in rows) > 1}
    if dup:  # e.g. an ablation trained twice: which folder's numbers the row is would be a guess
        raise VerdictError(f"{', '.join(map(str, roots))}: several models of "
                           + ", ".join(f"{m} seed {s}" for m, s in sorted(dup)))
    return sorted(rows, key=lambda r: (r["method"], r["seed"]))


def write_verdict(results_dir: str | Path, models_dir: str | Path | None, out_dir: str | Path,
                  cmp: Comparisons = Comparisons()) -> list[Path]:
    """verdict.csv, verdict.md and (with models_dir) seeds.csv under out_dir, each written atomically after
    every input is read and the verdict words are checked against their numbers."""
    from redbench._io import write_text_atomic

    rows = verdict_rows(results_dir, cmp)
    bad = check_rows(rows)
    if bad:
        raise VerdictError("verdict words disagree with their numbers: " + "; ".join(bad))
    seeds = seed_rows(models_dir, results_dir, cmp.dataset) if models_dir is not None else None
    out = Path(out_dir)
    files = {out / "verdict.csv": to_csv(rows, VERDICT_COLUMNS),
             out / "verdict.md": verdict_markdown(rows, cmp.dataset)}
    if seeds is not None:
        files[out / "seeds.csv"] = to_csv(seeds, SEED_COLUMNS)
    out.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        write_text_atomic(path, text)
    return list(files)
