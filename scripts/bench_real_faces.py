"""Methods with a native input convention, under redbench's `gt` protocol against their own native pipeline,
on real annotated photographs.

Today that is `ert_pretrained` (dlib's public 68-point model), whose native input is dlib's HOG detector box on
the full image. The other methods are trained here on the shards' boxes, so the `gt` box is their native input.
Per face: the native NME (dlib's detector with upsample 1 on the full image, then the predictor) and the NME
through the project's path (the context crop that preprocessing stores, its gt box, `predict_clip`, mapped back
to the image), both inter-ocular (outer eye corners) against the human annotation, and their ratio.

The adapter's detector-box model (redbench.datasets.detector.DlibBoxModel) is calibrated on these same faces, so
each face is scored with a model fitted leave-one-out on the other faces' detections; the shipped defaults
(fitted on all of them) are shown beside, marked in-sample. Faces are shown at two stored resolutions: the
synthetic default's 64 px (crop_size 128 / context_scale 2) and 128 px (crop_size 256).

scikit-image's astronaut has no landmarks: there the native prediction is the reference, and the box is its
tight box. These are 15 real photographs for development, not a benchmark; dlib's model was trained on the
5 LFPW training images among them.

    .venv/bin/python scripts/bench_real_faces.py [FOLDER]   (default ../shared/data/real_faces)
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np

CROP_SIZES = (128, 256)  # stored face 64 px (the synthetic default) and 128 px (the real-data recommendation)
CONTEXT_SCALE = 2.0


def through_crop(method, image: np.ndarray, landmarks: np.ndarray, crop_size: int) -> np.ndarray:
    """The method's prediction (68, 2) in image coords, as `redbench preprocess` + `predict --box gt` run it."""
    from redbench.benchmark.real_faces import Face, predict_face
    from redbench.datasets.preprocess import PreprocessConfig

    return predict_face(method, Face("", image, landmarks), PreprocessConfig(crop_size=crop_size,
                                                                             context_scale=CONTEXT_SCALE))


def nme(pred: np.ndarray, gt: np.ndarray) -> float:
    return float(np.linalg.norm(pred - gt, axis=1).mean() / np.linalg.norm(gt[36] - gt[45]))


def summary(ratios: list[float]) -> str:
    r = np.array(ratios)
    return (f"median ratio {np.median(r):.3f}, within 1.5x on {(r <= 1.5).sum()}/{len(r)} "
            f"({100 * (r <= 1.5).mean():.0f} %), worst {r.max():.2f}x")


def main(folder: str = "../shared/data/real_faces") -> int:
    import dlib
    from skimage.data import astronaut

    from redbench.baselines import ert_pretrained
    from redbench.benchmark.real_faces import read_faces
    from redbench.datasets.detector import DlibBoxModel
    from redbench.datasets.geometry import landmark_box

    predictor = dlib.shape_predictor(str(ert_pretrained.model_path()))
    detector = dlib.get_frontal_face_detector()
    faces = [(f.name, f.image, f.landmarks) for f in read_faces(Path(folder))]
    natives = [ert_pretrained.native(img, predictor, detector, near=landmark_box(gt)) for _, img, gt in faces]
    found = [i for i, n in enumerate(natives) if n is not None]
    print(f"ert_pretrained on {len(faces)} real faces of {folder}: dlib's detector found {len(found)}")
    print("NME inter-ocular (68 points); ratio = redbench gt protocol / native; LOO = detector-box model fitted "
          "on the other faces")
    cfg = ert_pretrained.Config()
    shipped = ert_pretrained.PretrainedERT(predictor, cfg)
    header = f"{'face':26s} {'native':>7s}" + "".join(
        f" | face {s // 2} px: {'LOO':>6s} {'ratio':>5s} {'in-sample':>9s}" for s in CROP_SIZES)
    print(header)
    ratios: dict[int, list[float]] = {s: [] for s in CROP_SIZES}
    in_sample: dict[int, list[float]] = {s: [] for s in CROP_SIZES}
    for i, (name, img, gt) in enumerate(faces):
        others = [j for j in found if j != i]
        fitted = DlibBoxModel.fit(np.stack([natives[j][0] for j in others]), np.stack([faces[j][2] for j in others]))
        loo = ert_pretrained.PretrainedERT(predictor, dataclasses.replace(cfg, boxes=fitted))
        native = nme(natives[i][1], gt) if natives[i] is not None else float("nan")
        line = f"{name:26s} {native:7.4f}"
        for s in CROP_SIZES:
            ours, ours_in = nme(through_crop(loo, img, gt, s), gt), nme(through_crop(shipped, img, gt, s), gt)
            if natives[i] is not None:
                ratios[s].append(ours / native)
                in_sample[s].append(ours_in / native)
            line += f" |             {ours:6.4f} {ours / native:5.2f} {ours_in:9.4f}"
        print(line + ("" if natives[i] is not None else "   (no detection: not in the ratios)"))
    for s in CROP_SIZES:
        print(f"face {s // 2} px (crop_size {s}): LOO {summary(ratios[s])}; in-sample {summary(in_sample[s])}")

    image = astronaut()
    ref = ert_pretrained.native(image, predictor, detector)
    if ref is None:
        print("astronaut: dlib's detector finds no face")
        return 1
    print("scikit-image astronaut (no landmarks): NME of the gt-protocol prediction against dlib's native one, "
          "box = the native prediction's tight box")
    for s in CROP_SIZES:
        print(f"  face {s // 2} px: {nme(through_crop(shipped, image, ref[1], s), ref[1]):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
