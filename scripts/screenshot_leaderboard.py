"""Open a leaderboard HTML page in headless Chromium and save a screenshot (docs/leaderboard_screenshot.png).

    python scripts/screenshot_leaderboard.py --html results/leaderboard.html
    python scripts/screenshot_leaderboard.py --fabricate     # no pipeline run at hand: fabricated predictions

--fabricate builds fake test shards and predictions of made-up methods ("fabricated-*") in a temp folder,
runs the comparison on them and screenshots that page; every number on it is synthetic and says so.
Needs Debian's `chromium` (apt-get install chromium).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np


def fabricated_leaderboard(root: Path) -> Path:
    """Fake shards, fabricated predictions of 4 made-up methods, and `compare` on them: the HTML path."""
    from redbench.benchmark.aggregate import BootstrapConfig
    from redbench.benchmark.compare import CompareConfig, compare_and_write
    from redbench.benchmark.ground_truth import load_ground_truth
    from redbench.benchmark.store import PredictionMeta, write_predictions
    from redbench.datasets.fake import make_fake_shards

    shards = root / "data" / "shards"
    make_fake_shards(shards / "300vw", n_clips=18, n_frames=40, crop_size=32, seed=3)
    gt = load_ground_truth(shards / "300vw")
    rng = np.random.default_rng(0)
    codes, _ = gt.clip_codes()
    methods = {"fabricated-temporal": (0.3, 0.1), "fabricated-static": (0.4, 0.45),
               "fabricated-static+smooth": (0.45, 0.15), "fabricated-floor": (1.2, 0.4)}  # px: clip bias, noise
    for name, (bias_px, noise_px) in methods.items():
        clip_bias = rng.normal(0, bias_px, (codes.max() + 1, 68, 2))[codes]  # slowly varying error per clip
        pred = gt.landmarks + clip_bias + rng.normal(0, noise_px, gt.landmarks.shape)
        meta = PredictionMeta(name, "0", "fabricated", "fabricated", "gt", "300vw", gt.data_source,
                              gt.manifest_sha256, 0.001)
        write_predictions(root / "predictions" / name / "300vw.h5", meta, gt.clip_ids, gt.frame_indices, pred)
    cfg = CompareConfig(methods=tuple(methods), datasets=("300vw",), predictions_dir=str(root / "predictions"),
                        shards_dir=str(shards), out_dir=str(root / "results"), reference_method="fabricated-temporal",
                        bootstrap=BootstrapConfig(resamples=500))
    compare_and_write(cfg, "fabricated")
    return root / "results" / "leaderboard.html"


def screenshot(html: Path, out: Path, width: int, height: int) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("chromium not found (Debian: apt-get install chromium)")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run", "--hide-scrollbars", f"--user-data-dir={profile}",
               f"--screenshot={out.resolve()}", f"--window-size={width},{height}", html.resolve().as_uri()]
        subprocess.run(cmd, check=True, timeout=120, capture_output=True)
    print(f"wrote {out} ({out.stat().st_size} bytes) from {html}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--html", type=Path, default=Path("results/leaderboard.html"))
    ap.add_argument("--fabricate", action="store_true", help="screenshot a page of fabricated predictions")
    ap.add_argument("--out", type=Path, default=Path("docs/leaderboard_screenshot.png"))
    ap.add_argument("--size", default="1400,1800", help="window width,height in px")
    args = ap.parse_args()
    width, height = (int(v) for v in args.size.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        html = fabricated_leaderboard(Path(tmp)) if args.fabricate else args.html
        if not html.exists():
            sys.exit(f"{html}: not found (run `redbench compare`, or pass --fabricate)")
        screenshot(html, args.out, width, height)


if __name__ == "__main__":
    main()
