"""Draw dlib's public 68-point model's landmarks on scikit-image's astronaut: docs/ert_pretrained_astronaut.png.

The face box is the hand-determined one of tests/baselines/test_ert_pretrained.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

FACE_BOX = np.array([182.0, 87.0, 270.0, 188.0])  # hand-determined tight landmark box (see the test)


def main(out: str = "docs/ert_pretrained_astronaut.png") -> int:
    from skimage.data import astronaut

    from redbench.baselines import ert_pretrained
    from redbench.datasets.detector import DlibBoxModel

    image = astronaut()
    method = ert_pretrained.load(None, ert_pretrained.Config())
    pts = method.predict_clip(image[None], FACE_BOX[None], False)[0]
    crop = image[40:240, 110:340].copy()  # the head, then x3 for visibility
    big = cv2.resize(crop, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
    to_big = lambda p: (int(round((p[0] - 110) * 3 + 1)), int(round((p[1] - 40) * 3 + 1)))  # noqa: E731
    x0, y0, x1, y1 = FACE_BOX
    cv2.rectangle(big, to_big((x0, y0)), to_big((x1, y1)), (255, 200, 0), 1)  # our box (input)
    l, t, r, b = DlibBoxModel().from_box(FACE_BOX)  # the first detector-style box the adapter tries
    cv2.rectangle(big, to_big((l, t)), to_big((r, b)), (0, 160, 255), 1)  # the detector-style rectangle
    for i, p in enumerate(pts):
        colour = (255, 40, 40) if 36 <= i < 48 else (40, 255, 40)
        cv2.circle(big, to_big(p), 3, colour, -1)
    cv2.putText(big, "ert_pretrained (dlib 68-pt) on skimage astronaut", (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55,
                (255, 255, 255), 1)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(out, cv2.cvtColor(big, cv2.COLOR_RGB2BGR))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
