"""Every learned method's training log: train_log.csv (one row per validation) and metrics.json (last and best
validation NME, whether it converged, the cost) in its model folder, and the cost read back."""

from __future__ import annotations

import math

from redbench.methods.convergence import converged
from redbench.methods.cost import TrainCost

TRAIN_LOG = "train_log.csv"
METRICS = "metrics.json"


def write_log(out_dir, rows: list[dict], cost: TrainCost | None = None) -> None:
    """train_log.csv (one row per evaluation) and metrics.json (last and best validation NME, whether it
    converged by `converged`, the cost) under out_dir, atomically. Rows need epoch, step, train_loss and
    val_nme_inter_ocular."""
    import csv
    import io
    from pathlib import Path

    from redbench._io import write_json_atomic, write_text_atomic

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(Path(out_dir) / TRAIN_LOG, buf.getvalue())
    vals = [r["val_nme_inter_ocular"] for r in rows]
    finite = [i for i, v in enumerate(vals) if math.isfinite(v)]
    metrics = {"epochs": rows[-1]["epoch"], "train_loss": rows[-1]["train_loss"], "val_nme_inter_ocular": vals[-1]}
    if finite:
        best = min(finite, key=vals.__getitem__)
        metrics.update(best_val_nme_inter_ocular=vals[best], best_epoch=rows[best]["epoch"])
    if len(finite) >= 2:
        metrics["converged"] = converged([rows[i]["step"] for i in finite], [vals[i] for i in finite])
    if cost is not None:
        metrics["cost"] = cost.as_dict()
    write_json_atomic(Path(out_dir) / METRICS, metrics)


def read_cost(out_dir) -> dict | None:
    """The cost record `write_log` left in out_dir's metrics.json (None when there is none)."""
    import json
    from pathlib import Path

    path = Path(out_dir) / METRICS
    return json.loads(path.read_text(encoding="utf-8")).get("cost") if path.is_file() else None
