"""Coverage and power of the paired hierarchical bootstrap (benchmark/hierarchical.py) on simulated test sets.

Simulated data (benchmark/hierarchical_sim.py), never real 300-VW numbers: per-frame NME in fractions of the
inter-ocular distance, 48 test identities with 1-3 clips each (96 clips of 60-140 frames), variance
components of the sizes measured on the synthetic reference run (seed sd 1-3 NME points). For each number of
seeds per method and seed sd: the coverage of the 95 % interval of a true 1-point effect, the power to find
it (the interval wholly below 0), and, with no effect, how often the TOST at a 1-point margin says
"equivalent" and how often a spurious "better" / "worse" comes out.

    python scripts/bench_hierarchical.py [--sims 1000] [--resamples 1000] [--seeds 3 5 10 20]
"""

from __future__ import annotations

import argparse
import dataclasses
import time


def main() -> None:
    from redbench.benchmark.hierarchical_sim import SimDesign, VarianceComponents, run_simulations

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sims", type=int, default=1000)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 3, 5, 10, 20])
    ap.add_argument("--seed-sd", type=float, nargs="+", default=[0.01, 0.02, 0.03])
    ap.add_argument("--margin", type=float, default=0.01)
    args = ap.parse_args()
    comps = VarianceComponents()
    print(f"simulated data; variance components (NME units): {dataclasses.asdict(comps)} (seed_sd varied); "
          f"{args.sims} simulations x {args.resamples} resamples per row; 95 % intervals, TOST margin "
          f"{args.margin:g}; frame-pooled NME")
    print("\n| seeds per method | seed sd (points) | coverage, effect 1 point | power, effect 1 point | "
          "mean width (points) | equivalent, no effect | better or worse, no effect | plain seed bootstrap: coverage |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    t0 = time.perf_counter()
    for seeds in args.seeds:
        for sd in args.seed_sd:
            c = dataclasses.replace(comps, seed_sd=sd)
            sim = SimDesign(seeds_a=seeds, seeds_b=seeds, effect=-0.01)
            eff = run_simulations(sim, c, args.sims, args.resamples, args.margin, seed=1)
            null = run_simulations(dataclasses.replace(sim, effect=0.0), c, args.sims, args.resamples,
                                   args.margin, seed=2)
            plain = run_simulations(sim, c, args.sims, args.resamples, args.margin, seed=1, small_sample=False)
            wrong = null.verdicts["better"] + null.verdicts["worse"]
            print(f"| {seeds} | {100 * sd:g} | {eff.coverage:.3f} | {eff.power:.3f} | {100 * eff.mean_width:.2f} | "
                  f"{null.equivalent:.3f} | {wrong:.3f} | {plain.coverage:.3f} |", flush=True)
    print(f"\n{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
