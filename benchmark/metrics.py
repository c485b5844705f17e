"""The landmark metrics moved to the ground floor, beside the landmark schema: redbench/metrics.py. Re-exported
here for the benchmark's readers; new code imports redbench.metrics."""

from redbench.metrics import (NORMS, NORM_LABELS, PointSet, point_indices, landmark_box_size, normaliser,
                              point_errors, normalised_point_errors, nme, nme_of_point_errors, group_nme, ced,
                              auc, auc_terms, failure_rate, motion_error, jitter, ldeq_face_scale, flicker,
                              nmf)  # noqa: F401
