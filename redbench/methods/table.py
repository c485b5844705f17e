"""The method table: a plain dict from method name to a spec naming where its code lives.

Nothing registers itself at import time; a method's module is imported only when the method is used, so
listing methods never imports torch or dlib. Each method module provides (docs/extending.md):

    VERSION: str                                               # bumped when its outputs change
    Config                                                     # frozen dataclass, from params methods.<name>
    train(cfg, train_dirs, out_dir, *, seed, val_fraction, resume, progress) -> None
                                                               # trainable methods only; writes train_info.json
    load(model_dir: Path | None, cfg: Config) -> Method        # every method (model_dir None: pretrained)

where `Method` follows `redbench.methods.protocol.Method`. The `<static>+smooth` rows are made by the
factory (redbench.methods.factory) from their static method and redbench.baselines.smoothing. A method may
keep `train` (and `continues`, for resumable ones) in a module of its own, named by the spec's `train_module`,
so that predicting imports no training code (RED: red/method_train.py).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType


class UnknownMethod(KeyError):
    def __str__(self) -> str:  # the message itself, not KeyError's repr of it
        return str(self.args[0])


@dataclass(frozen=True)
class MethodSpec:
    name: str
    module: str  # e.g. "redbench.baselines.sdm"
    temporal: bool  # sees whole clips in order (state kept within a clip only)
    trainable: bool  # trained here on our training shards
    trained_on: str  # what its weights saw: "training shards" or the pretrained source
    description: str
    smooth_of: str | None = None  # for "<static>+smooth" rows: the static method being smoothed
    resumable: bool = False  # keeps a checkpoint that `redbench train --resume` continues from
    # Config defaults of this row where it shares its module's Config with another row (params override them)
    defaults: tuple[tuple[str, object], ...] = ()
    train_module: str | None = None  # the module with `train` (and `continues`) when it is not `module`
    compared: bool = True  # a row of the default comparison (params compare.methods' default)
    uses_torch: bool = False  # computes with torch: trained and run under params torch.cpu_kernels

    def load_module(self) -> ModuleType:
        return importlib.import_module(self.module)

    def load_train_module(self) -> ModuleType:
        return importlib.import_module(self.train_module or self.module)


def _specs() -> list[MethodSpec]:
    shards = "this run's training shards"
    base = [
        MethodSpec("mean_shape", "redbench.baselines.mean_shape", False, True, shards,
                   "mean training shape placed in the box (the floor)"),
        MethodSpec("sdm", "redbench.baselines.sdm", False, True, shards,
                   "Supervised Descent Method (Xiong & De la Torre 2013): cascaded linear regression on HOG"),
        MethodSpec("ert", "redbench.baselines.ert", False, True, shards,
                   "Ensemble of Regression Trees (Kazemi & Sullivan 2014), dlib's trainer"),
        MethodSpec("ert_pretrained", "redbench.baselines.ert_pretrained", False, False,
                   "300-W incl. mirrored images (dlib's public model): 300-W test numbers are contaminated",
                   "dlib's public 68-point ERT model"),
        MethodSpec("cnn_regression", "redbench.baselines.cnn_regression", False, True, shards,
                   "small ResNet-style CNN regressing coordinates", uses_torch=True),
        MethodSpec("heatmap", "redbench.baselines.heatmap", False, True, shards,
                   "small stacked-hourglass heatmap network with sub-pixel decoding", uses_torch=True),
        MethodSpec("red_static", "redbench.red.method", False, True, shards,
                   "RED with the temporal LSTM off (one frame at a time)", resumable=True,
                   defaults=(("variant", "static"),), train_module="redbench.red.method_train", uses_torch=True),
        MethodSpec("red", "redbench.red.method", True, True, shards,
                   "RED: recurrent encoder-decoder (Peng et al. ECCV 2016)", resumable=True,
                   train_module="redbench.red.method_train", uses_torch=True),
    ]
    # The default comparison smooths the static methods trained on its frames, not the mean shape (it moves
    # only with its box).
    smoothed = [
        MethodSpec(f"{s.name}+smooth", "redbench.baselines.smoothing", True, False, s.trained_on,
                   f"{s.name} followed by temporal smoothing within the clip", smooth_of=s.name,
                   compared=s.trainable and s.name != "mean_shape", uses_torch=s.uses_torch)
        for s in base
        if not s.temporal
    ]
    return base + smoothed


def method_table() -> dict[str, MethodSpec]:
    """Name -> spec for every method the suite knows (built on call, not at import)."""
    return {s.name: s for s in _specs()}


def compared_methods() -> tuple[str, ...]:
    """The rows of the default comparison, in table order."""
    return tuple(name for name, spec in method_table().items() if spec.compared)


def get_method(name: str) -> MethodSpec:
    table = method_table()
    if name not in table:
        raise UnknownMethod(f"unknown method {name!r}; known: {', '.join(table)}")
    return table[name]
