"""The leaderboard's tables over training seeds, box protocols and lost faces (benchmark/leaderboard.py
renders them with the others): each method's NME as a mean over its seeds, the reference method against each
other one by the paired hierarchical bootstrap with its verdict, every method's NME under each box protocol,
and how often a method loses the face under the tracking protocol."""

from __future__ import annotations

from typing import Any

from redbench.benchmark.table_model import Column, Table, _caption, _source


def seed_means_table(results: dict[str, Any], ds: str) -> Table | None:
    entry = results["datasets"][ds]
    seeds = entry.get("seeds")
    if not seeds:
        return None
    cols = (Column("", "method", "text"), Column("n", "seeds", "text"),
            Column("mean", "NME % mean over seeds (frame-pooled)", "pct"),
            Column("mean/video", "NME % mean over seeds (video-avg)", "pct"),
            Column("each", "NME % per seed (frame-pooled)", "text"))
    rows = [{"": m, "n": str(len(rec["seeds"])), "mean": rec["mean"], "mean/video": rec["mean/video"],
             "each": ", ".join(f"{s}: {100 * v:.2f}" for s, v in zip(rec["seeds"], rec["nme"]))}
            for m, rec in seeds["methods"].items()]
    rows.sort(key=lambda r: r["mean"]["value"])
    return Table(f"{ds} ({_source(entry)}): NME over training seeds",
                 f"Intervals: {seeds['method']} ({seeds['n_identities']} identities, {seeds['n_clips']} clips). "
                 + _caption(results, ds, entry), cols, tuple(rows))


def hierarchical_table(results: dict[str, Any], ds: str) -> Table | None:
    entry = results["datasets"][ds]
    seeds = entry.get("seeds")
    if not seeds or not seeds["tests"]:
        return None
    margin = 100 * seeds["equivalence_margin"]
    cols = (Column("", "comparison", "text"), Column("n", "seeds (a / b)", "text"),
            Column("diff", "NME difference, points (a - b, frame-pooled)", "pct"),
            Column("p", f"TOST p at +-{margin:g} point(s)", "text"), Column("verdict", "verdict", "text"),
            Column("video", "difference, video-avg", "pct"), Column("vverdict", "verdict, video-avg", "text"))
    rows = tuple({"": f"{t['a']} vs {t['b']}", "n": f"{t['n_seeds_a']} / {t['n_seeds_b']}", "diff": t["diff"],
                  "p": "n/a" if t["tost"]["p"] is None else f"{t['tost']['p']:.3g}", "verdict": t["verdict"],
                  "video": t["video"]["diff"], "vverdict": t["video"]["verdict"]} for t in seeds["tests"])
    return Table(f"{ds} ({_source(entry)}): verdicts over seeds and people",
                 f"{seeds['method']}. Verdict: equivalent when the TOST rejects a difference of {margin:g} NME "
                 f"point(s) (p < {1 - seeds['ci']:.2g}); else better / worse when the {seeds['ci']:.0%} interval "
                 "lies below / above 0; else unresolved. " + _caption(results, ds, entry), cols, rows)


def protocols_table(results: dict[str, Any], ds: str) -> Table | None:
    others = {p: v["datasets"][ds] for p, v in results.get("protocols", {}).items() if ds in v["datasets"]}
    if not others:
        return None
    entry = results["datasets"][ds]
    main = entry["box_protocol"]
    cols = [Column("", "method", "text"), Column(main, f"NME % ({main} boxes)", "pct")]
    cols += [Column(p, f"NME % ({p} boxes)", "pct") for p in others]
    methods = list(dict.fromkeys([*entry["methods"], *(m for v in others.values() for m in v)]))
    rows = [{"": m, main: entry["methods"].get(m, {}).get("metrics", {}).get("nme"),
             **{p: v.get(m) for p, v in others.items()}} for m in methods]
    files = ", ".join(v["results"] for v in results["protocols"].values())
    return Table(f"{ds} ({_source(entry)}): NME by box protocol",
                 f"The same models scored under each box protocol (each protocol's full leaderboard: {files}; "
                 "tracking: frame 0's gt box, then the method's own output). " + _caption(results, ds, entry),
                 tuple(cols), tuple(rows))


def lost_face_table(results: dict[str, Any], ds: str) -> Table | None:
    entry = results["datasets"][ds]
    lost = entry.get("lost_face")
    if not lost or entry["box_protocol"] != "tracking":
        return None
    cols = (Column("", "method", "text"), Column("clips", "clips that lose the face", "text"),
            Column("losses", "losses", "text"), Column("recovered", "recovered", "text"),
            Column("frames", "frames lost %", "text"))
    rows = tuple({"": m, "clips": f"{v['clips_lost']} / {v['n_clips']}", "losses": str(v["losses"]),
                  "recovered": f"{v['recovered']} / {v['losses']}",
                  "frames": "n/a" if v["frames_lost_fraction"] is None else f"{100 * v['frames_lost_fraction']:.1f}"}
                 for m, v in lost["methods"].items())
    return Table(f"{ds} ({_source(entry)}): lost faces under tracking",
                 f"{lost['note']}. " + _caption(results, ds, entry), cols, rows)


def extra_tables(results: dict[str, Any], ds: str) -> list[Table]:
    """The tables of this module that the results have data for, in reading order."""
    made = (protocols_table(results, ds), lost_face_table(results, ds), seed_means_table(results, ds),
            hierarchical_table(results, ds))
    return [t for t in made if t is not None]
