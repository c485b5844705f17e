"""The reference run's report: the equal-compute view, the convergence table, RED's ablations, the leaderboard
and the paired tests, all generated from the run's files (training logs, train_info.json, results/metrics.json).

    redbench report --models models --results results --out report \
        --results-seed 1 results_seed1 --results-seed 2 results_seed2 [--into ../docs/reference_run.md]

Writes under --out: equal_compute.png (validation NME against training FLOPs, every learned method on the same
axes), equal_compute.csv, convergence.md, ablations.md, leaderboard.md, paired.md (RED against every row,
and against RED-static for the other training seeds given) and headline.md (the README's table, from
metrics.json alone); a table whose inputs are absent is left out. With --into, the text between
`<!-- reference:NAME -->` and `<!-- /reference:NAME -->` in that Markdown file is replaced by the block NAME.
Validation NME: inter-ocular, 68 points, gt boxes, the held-out validation people (synthetic data).
Convergence: redbench.methods.convergence.converged.
"""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

LEARNED = ("red", "red_static", "sdm", "ert", "cnn_regression", "heatmap")
ABLATIONS = ("full", "static", "no_srnn", "no_cls", "reg_only")
ABLATION_SEEDS = (0, 1, 2)
# the ablation variants that are the leaderboard's methods: seed N in models/seedN/<method> (an earlier layout:
# seed 0 in models/<method>)
RED_METHODS = {"full": "red", "static": "red_static"}


def read_run(folder: Path) -> dict | None:
    """A trained model folder -> its log rows (floats), metrics.json and cost; None when not (yet) trained."""
    log, metrics = folder / "train_log.csv", folder / "metrics.json"
    if not (log.exists() and metrics.exists()):
        return None
    with open(log, newline="") as f:
        rows = [{k: _num(v) for k, v in r.items()} for r in csv.DictReader(f)]
    info = json.loads(metrics.read_text())
    return {"rows": rows, "metrics": info, "cost": info.get("cost") or {}}


def _num(v: str):
    try:
        return float(v)
    except (TypeError, ValueError):
        return v


def tail_improvement(rows: list[dict], tail: float = 0.2) -> float:
    """Relative improvement of the best validation NME within the last `tail` of steps over the best before."""
    steps = [r["step"] for r in rows]
    vals = [r["val_nme_inter_ocular"] for r in rows]
    cut = steps[-1] - tail * (steps[-1] - steps[0])
    before = [v for s, v in zip(steps, vals) if s < cut] or vals[:1]
    return (min(before) - min(vals)) / min(before)


def convergence_table(runs: dict[str, dict]) -> str:
    from redbench.methods.convergence import converged

    lines = ["| method | evaluations | steps | frames seen | training FLOPs | wall s (threads) | best val NME | "
             "last 20 % improved by | converged | stopped |", "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for name, run in runs.items():
        rows, cost = run["rows"], run["cost"]
        best = min(r["val_nme_inter_ocular"] for r in rows)
        if len(rows) >= 2:
            imp = f"{100 * tail_improvement(rows):.1f} %"
            conv = "yes" if converged([r["step"] for r in rows], [r["val_nme_inter_ocular"] for r in rows]) else "no"
        else:
            imp, conv = "-", "one evaluation (cap)"
        lines.append(f"| {name} | {len(rows)} | {int(cost.get('steps', rows[-1]['step']))} | "
                     f"{int(cost.get('frames_seen', 0)):,} | {cost.get('flops', 0):.2e} | "
                     f"{cost.get('wall_s', 0):.0f} ({cost.get('threads', '?')}) | {best:.4f} | {imp} | {conv} | "
                     f"{cost.get('stopped', '?')} |")
    return "\n".join(lines) + "\n"


def equal_compute(runs: dict[str, dict], out: Path) -> None:
    """Validation NME against cumulative training FLOPs, log x axis, on shared axes: every learned method
    (seed 0) on the left, RED's variants (every seed; colour = variant, line style = seed) on the right."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    sns.set_theme(style="whitegrid")
    fig, (main_ax, red_ax) = plt.subplots(1, 2, figsize=(11, 4.5), sharex=True, sharey=True)
    variant_of = {"red": "full", "red_static": "static"}
    variants = [n.split(" ")[0].removeprefix("red_") for n in runs if n not in LEARNED]
    colours = dict(zip(dict.fromkeys(["full", "static", *variants]), sns.color_palette("tab10")))
    main_colours = dict(zip(LEARNED, sns.color_palette("tab10")))
    with open(out.with_suffix(".csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["method", "epoch", "step", "train_flops", "val_nme_inter_ocular"])
        for name, run in runs.items():
            pts = [(r["train_flops"], r["val_nme_inter_ocular"]) for r in run["rows"]
                   if r["train_flops"] > 0 and math.isfinite(r["val_nme_inter_ocular"])]
            for r in run["rows"]:
                w.writerow([name, int(r["epoch"]), int(r["step"]), r["train_flops"], r["val_nme_inter_ocular"]])
            if not pts:
                continue
            xs, ys = zip(*pts)
            if name in LEARNED:
                main_ax.plot(xs, ys, marker="o", ms=3, lw=1.4, label=name, color=main_colours[name])
            variant = variant_of.get(name) or name.split(" ")[0].removeprefix("red_")
            if name in variant_of or name not in LEARNED:
                seed = int(name.split(" seed ")[1]) if " seed " in name else 0
                red_ax.plot(xs, ys, marker="o", ms=2.5, lw=1.1, color=colours[variant],
                            ls=("-", "--", ":", "-.")[seed % 4], label=f"{variant}, seed {seed}")
    for ax, title in ((main_ax, "every learned method, seed 0"), (red_ax, "RED's variants, every seed")):
        ax.set_xscale("log")
        ax.set_xlabel("training FLOPs (counted for networks, estimated for SDM / ERT)", fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7, ncol=2)
    main_ax.set_ylabel("validation NME (inter-ocular, 68 pts)")
    fig.suptitle("Equal-compute view, reference run (synthetic data, 10 held-out people, gt boxes)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def seed_folders(models: Path) -> dict[int, Path]:
    """seed -> models/seed<k>, in seed order: the trained models of each training seed."""
    found = {int(f.name.removeprefix("seed")): f for f in models.glob("seed*")
             if f.is_dir() and f.name.removeprefix("seed").isdigit()}
    return dict(sorted(found.items()))


def red_seed_runs(models: Path) -> dict[tuple[str, int], dict]:
    """(variant, seed) -> run of RED (full) and RED-static for every seed trained (RED_METHODS' folders)."""
    seeds = {0: models} | seed_folders(models)
    return {(variant, seed): run for variant, method in RED_METHODS.items() for seed, folder in seeds.items()
            if (run := read_run(folder / method)) is not None}


def ablation_folder(variant: str, seed: int) -> str:
    """The folder under models/ablations of one ablation row (the reference pipeline's `ablations` stages)."""
    return f"{variant}-seed{seed}"


def ablation_runs(models: Path) -> dict[tuple[str, int], dict]:
    """(variant, seed) -> run for ABLATION_SEEDS: full / static from red_seed_runs, the rest from
    models/ablations."""
    red = red_seed_runs(models)
    runs = {}
    for variant in ABLATIONS:
        for seed in ABLATION_SEEDS:
            folder = models / "ablations" / ablation_folder(variant, seed)
            run = red.get((variant, seed)) if variant in RED_METHODS else read_run(folder)
            if run is not None:
                runs[variant, seed] = run
    return runs


def ablation_table(runs: dict[tuple[str, int], dict]) -> str:
    what = {"full": "nothing", "static": "f_tRNN and the clip-held C_id", "no_srnn": "f_sRNN (one pass)",
            "no_cls": "f_CLS (no identity loss)", "reg_only": "maps, f_CLS, f_sRNN (f_REG alone)"}
    seeds = ABLATION_SEEDS
    lines = ["| variant | what is off | " + " | ".join(f"best val NME, seed {s}" for s in seeds)
             + " | mean of seeds [range] | training FLOPs (seed 0) | converged (seeds) |",
             "|---|---|" + "---:|" * (len(seeds) + 2) + "---|"]
    for variant in ABLATIONS:
        got = {s: runs[variant, s] for s in seeds if (variant, s) in runs}
        best = {s: min(r["val_nme_inter_ocular"] for r in run["rows"]) for s, run in got.items()}
        cells = [f"{best[s]:.4f}" if s in best else "not run" for s in seeds]
        vals = list(best.values())
        mean = f"{sum(vals) / len(vals):.4f} [{min(vals):.4f}, {max(vals):.4f}]" if len(vals) >= 2 else "-"
        flops = f"{got[0]['cost'].get('flops', 0):.2e}" if 0 in got else "-"
        conv = ", ".join(f"s{s}: {'yes' if r['metrics'].get('converged') else 'no'}" for s, r in got.items()) or "-"
        lines.append(f"| {variant} | {what[variant]} | {' | '.join(cells)} | {mean} | {flops} | {conv} |")
    return "\n".join(lines) + "\n"


def seed0_run(models: Path, method: str) -> dict | None:
    """A method's seed-0 run: models/seed0/<method>, else (the earlier layout) models/<method>."""
    return read_run(models / "seed0" / method) or read_run(models / method)


def diagnostics_rows(models: Path) -> list[dict]:
    """RED's and RED-static's temporal diagnostics (red/diagnostics.py) for every seed trained: method, seed,
    as_is, state_reset, shuffled (validation NME, inter-ocular, 68 points, whole clips online)."""
    rows = []
    for seed, folder in seed_folders(models).items():
        for method in RED_METHODS.values():
            path = folder / method / "diagnostics.json"
            if path.is_file():
                d = json.loads(path.read_text(encoding="utf-8"))
                rows.append({"method": method, "seed": seed,
                             **{k: d.get(k) for k in ("as_is", "state_reset", "shuffled")}})
    return sorted(rows, key=lambda r: (r["method"], r["seed"]))


def control_rows(control: Path) -> list[dict]:
    """The positive control of every training seed (control/seed-<k>.json, written by `redbench control`): one
    row per condition, method and seed with its NME (inter-ocular, 68 points, the validation people)."""
    rows = []
    for path in sorted(control.glob("seed-*.json")):
        seed = path.stem.removeprefix("seed-")
        if not seed.isdigit():
            continue
        result = json.loads(path.read_text(encoding="utf-8"))
        for condition, nmes in result["nme_inter_ocular"].items():
            rows.extend({"condition": condition, "method": m, "seed": int(seed), "nme": v} for m, v in nmes.items())
    return sorted(rows, key=lambda r: (r["condition"], r["method"], r["seed"]))


def control_table(rows: list[dict], reference: str = "red", counterpart: str = "red_static") -> str:
    """Per condition and method: the control's NME mean and range over seeds, and the paired difference of the
    reference method against its counterpart (same seed), the number time could win (oracle) beside it."""
    import statistics

    def cell(values: list[float]) -> str:
        return f"{100 * statistics.fmean(values):.2f} [{100 * min(values):.2f}, {100 * max(values):.2f}]"

    by: dict[tuple[str, str], dict[int, float]] = {}
    for r in rows:
        by.setdefault((r["condition"], r["method"]), {})[r["seed"]] = r["nme"]
    lines = ["| condition | method | seeds | NME % mean [min, max] |", "|---|---|---:|---|"]
    for (condition, method), nmes in sorted(by.items()):
        lines.append(f"| {condition} | {method} | {len(nmes)} | {cell(list(nmes.values()))} |")
        if method == reference and (condition, counterpart) in by:
            other = by[(condition, counterpart)]
            diffs = [nmes[s] - other[s] for s in sorted(nmes.keys() & other.keys())]
            if diffs:
                lines.append(f"| {condition} | {reference} - {counterpart} (points, paired by seed) | {len(diffs)} "
                             f"| {cell(diffs)} |")
    return "\n".join(lines) + "\n"


def leaderboard_table(metrics: dict, runs: dict[str, dict]) -> str:
    """The reference run's leaderboard: 300-VW-style categories, AUC / FR at 0.08, jitter, FHR's sta2, other datasets,
    and each learned row's training cost."""
    vw = metrics["datasets"]["300vw"]
    groups = vw["breakdowns"]["subset"]["groups"]
    cats = [c for c in ("category1", "category2", "category3") if c in groups]
    head = ["method", *[f"300vw {c.replace('category', 'cat. ')}" for c in cats], "300vw all", "AUC@0.08",
            "FR@0.08 %", "jitter %", *[f"{d} NME %" for d in metrics["datasets"] if d != "300vw"],
            "training FLOPs", "train wall s"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    order = sorted(vw["methods"], key=lambda m: vw["methods"][m]["metrics"]["nme"]["value"])
    for m in order:
        mm = vw["methods"][m]["metrics"]
        base = m.split("+")[0]
        cost = runs[base]["cost"] if base in runs else {}
        cells = [m, *[_pct(groups[c]["methods"][m]["nme"]) for c in cats], _pct(mm["nme"]),
                 f"{mm['auc@0.08']['value']:.3f}", f"{100 * mm['fr@0.08']['value']:.1f}", _pct(mm["jitter"], ci=False),
                 *[_pct(metrics["datasets"][d]["methods"][m]["metrics"]["nme"])
                   for d in metrics["datasets"] if d != "300vw" and m in metrics["datasets"][d]["methods"]],
                 f"{cost['flops']:.1e}" if cost.get("flops") else "-",
                 f"{cost['wall_s']:.0f}" if cost.get("wall_s") else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def headline_table(metrics: dict) -> str:
    """The README's table, from a metrics.json alone: each row's NME on the 300-VW-style test frames (all and
    category 3), AUC and failure rate at 0.08, jitter, NME on 300-W, and its training FLOPs."""
    vw = metrics["datasets"]["300vw"]
    cat3 = vw["breakdowns"]["subset"]["groups"].get("category3", {}).get("methods", {})
    others = [d for d in metrics["datasets"] if d != "300vw"]
    head = ["method", "300vw NME % [95 % CI]", "cat. 3", "AUC@0.08", "FR@0.08 %", "jitter %",
            *[f"{d} NME %" for d in others], "training FLOPs"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for m in sorted(vw["methods"], key=lambda m: vw["methods"][m]["metrics"]["nme"]["value"]):
        mm, flops = vw["methods"][m]["metrics"], vw["methods"][m]["prediction"].get("train_flops")
        cells = [m, _pct(mm["nme"]), _pct(cat3[m]["nme"], ci=False) if m in cat3 else "-",
                 f"{mm['auc@0.08']['value']:.3f}", f"{100 * mm['fr@0.08']['value']:.1f}", _pct(mm["jitter"], ci=False),
                 *[_pct(metrics["datasets"][d]["methods"][m]["metrics"]["nme"], ci=False)
                   if m in metrics["datasets"][d]["methods"] else "-" for d in others],
                 f"{flops:.1e}" if flops else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _pct(entry: dict, ci: bool = True) -> str:
    v = f"{100 * entry['value']:.2f}"
    if ci and entry.get("ci"):
        lo, hi = entry["ci"]
        v += f" [{100 * lo:.1f}, {100 * hi:.1f}]"
    return v


def paired_rows(metrics: dict, against: tuple[str, ...] | None = None) -> list[dict]:
    """RED's paired NME tests on 300-VW-style data from a metrics.json, optionally only against `against`."""
    return [t for t in metrics["datasets"]["300vw"].get("paired_tests", [])
            if t["metric"] == "nme" and t["a"] == "red" and (against is None or t["b"] in against)]


def paired_table(metrics: dict, seeds: dict[int, dict] | None = None) -> str:
    """RED against RED-static and every other row on 300-VW-style data: paired clip-bootstrap interval of the
    NME difference and the Wilcoxon p-value over clips (from results/metrics.json); `seeds`: seed -> the
    metrics.json of RED and RED-static trained with that seed, each one more RED vs RED-static row."""
    lines = ["| RED vs | seed | RED NME % | other NME % | difference (points) [95 % interval] | Wilcoxon p |",
             "|---|---:|---:|---:|---:|---:|"]
    tests = [(0, t) for t in paired_rows(metrics)]
    at = next((i + 1 for i, (_, t) in enumerate(tests) if t["b"] == "red_static"), len(tests))
    tests[at:at] = [(seed, t) for seed, m in sorted((seeds or {}).items()) for t in paired_rows(m, ("red_static",))]
    for seed, t in tests:
        lo, hi = t["diff"]["ci"]
        lines.append(f"| {t['b']} | {seed} | {100 * t['mean_a']:.2f} | {100 * t['mean_b']:.2f} | "
                     f"{100 * t['diff']['value']:+.2f} [{100 * lo:+.2f}, {100 * hi:+.2f}] | {t['wilcoxon_p']:.2g} |")
    return "\n".join(lines) + "\n"


def read_metrics(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such metrics file (run `redbench compare` for it first)")
    return json.loads(path.read_text(encoding="utf-8"))


def rewrite_blocks(doc: Path, blocks: dict[str, str]) -> str:
    """`doc`'s text with each `<!-- reference:NAME -->` block it holds replaced by blocks[NAME] (a file that
    holds none of them is an error: the wrong file)."""
    text = doc.read_text(encoding="utf-8")
    found = 0
    for name, body in blocks.items():
        pattern = re.compile(rf"(<!-- reference:{name} -->\n).*?(<!-- /reference:{name} -->)", re.S)
        text, n = pattern.subn(lambda m: m.group(1) + body + m.group(2), text)
        found += n
    if not found:
        raise ValueError(f"{doc}: holds no <!-- reference:NAME --> ... <!-- /reference:NAME --> block "
                         f"(NAME: {', '.join(blocks)})")
    return text


def spread_table(seeds: list[dict]) -> str:
    """Per method over its training seeds: the best validation NME's mean, standard deviation and range, and the
    test NME's (300vw, the main box protocol) -- how much the seed alone moves each method."""
    import statistics

    def cells(values: list[float]) -> str:
        if not values:
            return "- | - | -"
        sd = f"{100 * statistics.stdev(values):.2f}" if len(values) > 1 else "-"
        return (f"{100 * statistics.fmean(values):.2f} | {sd} | "
                f"{100 * min(values):.2f} - {100 * max(values):.2f}")

    by_method: dict[str, list[dict]] = {}
    for r in seeds:
        by_method.setdefault(r["method"], []).append(r)
    lines = ["| method | seeds | val NME % mean | sd | range | test NME % mean | sd | range |",
             "|---|---:|---:|---:|---|---:|---:|---|"]
    for m, rs in sorted(by_method.items(), key=lambda kv: kv[0]):
        val = [r["best_val_nme"] for r in rs if r["best_val_nme"] is not None]
        test = [r["test_nme"] for r in rs if r["test_nme"] is not None]
        lines.append(f"| {m} | {len(rs)} | {cells(val)} | {cells(test)} |")
    return "\n".join(lines) + "\n"


def verdict_files(models: Path, results: Path, metrics: dict | None) -> dict[str, str]:
    """The report's files of a run with several seeds per method: verdict.csv and verdict.md (from compare's
    hierarchical tests, each verdict word checked against its numbers), seeds.csv (every models/seed<k>/ model)
    and temporal_diagnostics.csv (RED's and RED-static's diagnostics.json); those whose inputs are there."""
    from redbench.benchmark.verdict import (SEED_COLUMNS, VERDICT_COLUMNS, VerdictError, check_rows, seed_rows,
                                            to_csv, verdict_markdown, verdict_rows)

    files = {}
    if metrics is not None and "seeds" in metrics["datasets"].get("300vw", {}):
        rows = verdict_rows(results)
        bad = check_rows(rows)
        if bad:
            raise VerdictError("verdict words disagree with their numbers: " + "; ".join(bad))
        files["verdict.csv"] = to_csv(rows, VERDICT_COLUMNS)
        files["verdict.md"] = verdict_markdown(rows)
        seed_dirs = list(seed_folders(models).values())
        if seed_dirs:
            seeds = seed_rows(seed_dirs, results)
            files["seeds.csv"] = to_csv(seeds, SEED_COLUMNS)
            files["seed_spread.md"] = spread_table(seeds)
    diag = diagnostics_rows(models)
    if diag:
        files["temporal_diagnostics.csv"] = to_csv(diag, ("method", "seed", "as_is", "state_reset", "shuffled"))
    return files


def write_report(models: Path, results: Path, out: Path, seeds: dict[int, Path] | None = None,
                 into: tuple[Path, ...] = (), control: Path | None = None,
                 timings: Path | None = None) -> dict[str, str]:
    """Write the report under `out` (replaced whole) and its blocks into the Markdown files `into`; every input
    is read before anything is written. `seeds`: seed -> the compare output folder of RED and RED-static
    trained with that seed; `control`: the folder of the positive control's seed-<k>.json; `timings`: the
    run's stage timings CSV (benchmark/wall_time.py). Returns the blocks."""
    from redbench._io import staged_dir, write_text_atomic

    metrics_path = results / "metrics.json"
    metrics = read_metrics(metrics_path) if metrics_path.exists() else None
    seed_metrics = {seed: read_metrics(Path(folder) / "metrics.json") for seed, folder in (seeds or {}).items()}
    runs = {m: r for m in LEARNED if (r := seed0_run(models, m)) is not None}
    abl = ablation_runs(models)
    # every RED run once: seed 0 of full / static is in runs, then the ablations, then the other seeds
    others = {**abl, **red_seed_runs(models)}
    everything = {**runs, **{f"red_{v}" + (f" seed {s}" if s else ""): r for (v, s), r in others.items()
                             if s or v not in RED_METHODS}}
    blocks = {}  # only the tables whose inputs are there (the models folder need not be)
    if everything:
        blocks["convergence"] = convergence_table(everything)
    if abl:
        blocks["ablations"] = ablation_table(abl)
    if metrics is not None:
        blocks["leaderboard"] = leaderboard_table(metrics, runs)
        blocks["paired"] = paired_table(metrics, seed_metrics)
        blocks["headline"] = headline_table(metrics)
    files = verdict_files(models, results, metrics)
    control_nmes = control_rows(control) if control is not None else []
    if control_nmes:
        from redbench.benchmark.verdict import to_csv

        files["positive_control.csv"] = to_csv(control_nmes, ("condition", "method", "seed", "nme"))
        blocks["positive_control"] = control_table(control_nmes)
    if timings is not None:
        from redbench.benchmark.wall_time import read_timings, wall_time_table

        blocks["wall_time"] = wall_time_table(read_timings(timings))
    if "verdict.md" in files:  # a block too: written with the other blocks as verdict.md
        blocks["verdict"] = files.pop("verdict.md")
    docs = {doc: rewrite_blocks(doc, blocks) for doc in into}
    with staged_dir(out, lambda rel: rel in REPORT_FILES, "redbench report") as stage:
        for name, text in files.items():
            (stage / name).write_text(text, encoding="utf-8")
        if everything:
            equal_compute(everything, stage / "equal_compute.png")
        for name, body in blocks.items():
            (stage / f"{name}.md").write_text(body, encoding="utf-8")
    for doc, text in docs.items():
        write_text_atomic(doc, text)
    return blocks


REPORT_FILES = ("equal_compute.png", "equal_compute.csv", "convergence.md", "ablations.md", "leaderboard.md",
                "paired.md", "headline.md", "verdict.csv", "verdict.md", "seeds.csv", "seed_spread.md",
                "temporal_diagnostics.csv", "positive_control.csv", "positive_control.md", "wall_time.md")
