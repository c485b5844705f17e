"""The DVC stages of the default pipeline (dvc.yaml) and of the reference profile (reference/dvc.yaml), derived.

Each stage's deps are its data, its params keys and the code it really imports: the closure of the imports of
`redbench`'s CLI, the command's module and the modules the tables name for its arguments (`command_modules`),
folded into a folder where every file with code in that folder is imported. A foreach / matrix stage is one
definition, so it declares the union of its items' imports. What runs is the run's choice in its params file:
`compare.methods` (the rows), `compare.datasets` and `train.datasets` (the training data).

The default pipeline keeps one train and one predict stage per method module (RED and RED-static share one), as
the committed dvc.lock names them. The reference profile makes its own data, trains every learned method to
convergence with `--resume` and several seeds, RED's ablations as a matrix over `redbench train red --set`, and
predicts every row under every box protocol.
"""

from __future__ import annotations

import itertools
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redbench.pipeline.imports import CODE_DIRS, REPO, closure, has_code

CLI = "redbench.cli"


def command_modules(cmd: str) -> list[str]:
    """The modules a `redbench ...` command starts from: the CLI, its command's module, the module the datasets
    table names for fetch's / preprocess's DATASET (its synthetic writer / its reader) and, for train / predict,
    those the methods table names for the METHOD argument."""
    from redbench.cli import COMMANDS
    from redbench.datasets.table import get_dataset
    from redbench.methods import get_method

    argv = [a for a in shlex.split(cmd) if not a.startswith("-")]
    if argv[:1] == ["torchrun"]:
        argv = argv[argv.index("redbench"):]
    if argv[:1] != ["redbench"] or len(argv) < 2 or argv[1] not in COMMANDS:
        raise ValueError(f"{cmd}: not a redbench command")
    modules = [CLI, f"{CLI}.{COMMANDS[argv[1]].split(':')[0]}"]
    if argv[1] in ("fetch", "preprocess"):  # the dataset's synthetic writer, or its reader
        spec = get_dataset(argv[2])
        modules.append(spec.synthetic.partition(":")[0] if argv[1] == "fetch" and spec.synthetic else spec.reader)
    if argv[1] == "control":  # the methods of its -m NAME=MODEL_DIR pairs
        words = shlex.split(cmd)
        modules += [get_method(words[i + 1].partition("=")[0]).module for i, w in enumerate(words[:-1])
                    if w in ("-m", "--method")]
    if argv[1] in ("train", "predict"):
        spec = get_method(argv[2])
        modules.append(spec.module)
        if argv[1] == "train" and spec.train_module:
            modules.append(spec.train_module)
        if spec.smooth_of is not None:
            modules.append(get_method(spec.smooth_of).module)
    return modules


def code_files(cmds: list[str]) -> set[Path]:
    """The files with code that the commands import (their union)."""
    return {p for cmd in cmds for p in closure(command_modules(cmd)) if has_code(p)}


def fold(files: set[Path]) -> list[str]:
    """Repository-relative deps for `files`: a folder where every file with code below it is in `files`."""
    out: list[str] = []

    def visit(folder: Path) -> None:
        below = {p for p in folder.rglob("*.py") if "__pycache__" not in p.parts and has_code(p)}
        if below and below <= files and folder != REPO / "redbench":  # never the whole CLI package
            out.append(folder.relative_to(REPO).as_posix())
            return
        for p in sorted(folder.iterdir()):
            if p.is_dir() and p.name != "__pycache__":
                visit(p)
            elif p in files:
                out.append(p.relative_to(REPO).as_posix())

    for top in CODE_DIRS:
        visit(REPO / top)
    return sorted(out)


@dataclass
class Stage:
    """One dvc.yaml stage: `cmds` are its expanded commands (one per foreach / matrix item)."""

    cmd: str
    cmds: list[str]
    deps: list[str]  # data and models, before the code
    params: list[str]
    outs: list[Any]
    foreach: list[str] | None = None
    matrix: dict[str, list] | None = None
    metrics: list[Any] = field(default_factory=list)
    plots: list[Any] = field(default_factory=list)
    comment: str = ""

    def as_dict(self, root: str) -> dict[str, Any]:
        body: dict[str, Any] = {"cmd": self.cmd,
                                "deps": [*self.deps, *(root + d for d in fold(code_files(self.cmds)))]}
        if self.params:
            body["params"] = self.params
        body["outs"] = self.outs
        if self.metrics:
            body["metrics"] = self.metrics
        if self.plots:
            body["plots"] = self.plots
        if self.foreach is not None:
            return {"foreach": self.foreach, "do": body}
        if self.matrix is not None:
            return {"matrix": self.matrix, **body}
        return body


def _each(template: str, items: list[str]) -> list[str]:
    return [template.replace("${item}", str(i)) for i in items]


def _grid(template: str, matrix: dict[str, list]) -> list[str]:
    out = []
    for combo in itertools.product(*matrix.values()):
        cmd = template
        for key, value in zip(matrix, combo):
            cmd = cmd.replace("${item.%s}" % key, str(value))
        out.append(cmd)
    return out


def _torch(spec: Any) -> list[str]:
    """The params key of a torch method's kernels (torch.cpu_kernels), for its train and predict stages."""
    return ["torch"] if spec.uses_torch else []


def _stage_name(method: str) -> str:
    return method.replace("+", "_")


def _groups(names: list[str], key) -> list[list[str]]:
    """`names` grouped by key(name), groups in order of first appearance; each group's own row (a method
    without row defaults: RED before RED-static) first."""
    from redbench.methods import get_method

    groups: dict[Any, list[str]] = {}
    for n in names:
        groups.setdefault(key(n), []).append(n)
    return [sorted(g, key=lambda n: bool(get_method(n).defaults)) for g in groups.values()]


def _rows(params: dict) -> tuple[list[str], list[str], list[str], list[str]]:
    """(compared rows, their trainable base methods, compared datasets, training datasets) from params (through
    their dataclasses: a profile's missing keys take the defaults), the datasets in the datasets table's order."""
    from redbench.benchmark.compare import CompareConfig
    from redbench.config import section
    from redbench.datasets.table import dataset_names
    from redbench.methods import TrainParams, get_method

    compare, train = section(params, "compare", CompareConfig), section(params, "train", TrainParams)
    rows = list(compare.methods)
    bases = list(dict.fromkeys(get_method(m).smooth_of or m for m in rows))
    trainable = [m for m in bases if get_method(m).trainable]
    return rows, trainable, [d for d in dataset_names() if d in compare.datasets], list(train.datasets)


def _model_files(method: str, resumable: bool) -> list[str]:
    """What `redbench predict` reads of a trained method: a resumable one's weights and record (not its
    checkpoint), else its model folder."""
    from redbench.methods.protocol import TRAIN_INFO, WEIGHTS

    if resumable:
        return [f"models/{method}/{WEIGHTS}", f"models/{method}/{TRAIN_INFO}"]
    return [f"models/{method}"]


def default_stages(params: dict) -> dict[str, Stage]:
    """The default pipeline: fetch -> preprocess -> train -> predict -> compare."""
    from redbench.methods import get_method
    from redbench.methods.train_log import METRICS, TRAIN_LOG
    from redbench.methods.protocol import CHECKPOINT, TRAIN_INFO, WEIGHTS

    rows, trainable, datasets, train_data = _rows(params)
    stages = {
        "fetch": Stage("redbench fetch ${item}", _each("redbench fetch ${item}", datasets), [],
                       ["fetch.${item}", "synthetic"], ["data/raw/${item}"], foreach=datasets),
        "preprocess": Stage("redbench preprocess ${item}", _each("redbench preprocess ${item}", datasets),
                            ["data/raw/${item}"], ["preprocess"], ["data/shards/${item}"], foreach=datasets),
    }
    shards = [f"data/shards/{d}" for d in train_data]
    for group in _groups(trainable, lambda m: get_method(m).module):
        name, many = group[0], len(group) > 1
        item = "${item}" if many else name
        spec = get_method(name)
        if spec.resumable:
            outs: list[Any] = [f"models/{item}/{WEIGHTS}", f"models/{item}/{TRAIN_INFO}",
                               {f"models/{item}/{CHECKPOINT}": {
                                   "persist": True,
                                   "#": f"for `redbench train {item} --resume` (an interrupted run resumes from "
                                        f"models/{item}.partial/)"}}]
            metrics = [{f"models/{item}/{METRICS}": {"cache": False}}]
            plots = [{f"models/{item}/{TRAIN_LOG}": {"cache": False, "x": "epoch", "y": "val_nme_inter_ocular"}}]
        else:
            outs, metrics, plots = [f"models/{item}"], [], []
        cmd = f"redbench train {item}"
        stages[f"train_{_stage_name(name)}"] = Stage(
            cmd, _each(cmd, group), shards, [f"methods.{item}", "train", *_torch(spec)], outs,
            foreach=group if many else None,
            metrics=metrics, plots=plots,
            comment=f"DDP: torchrun --nproc_per_node=N --no-python redbench train {item}" if spec.resumable else "")
    def code_of(m: str) -> tuple[str, str | None]:  # the rows that run the same code share a stage
        spec = get_method(m)
        return spec.module, spec.smooth_of and get_method(spec.smooth_of).module

    for group in _groups(rows, code_of):
        name, many = group[0], len(group) > 1
        spec = get_method(name)
        base = spec.smooth_of or name
        if many:  # one matrix over the rows
            method, dataset = "${item.method}", "${item.dataset}"
            matrix = {"method": group, "dataset": datasets}
        else:
            method, dataset, matrix = name, "${item}", None
        trained = get_method(base)
        model = method if spec.smooth_of is None else base  # a +smooth row reads its static method's model
        models = _model_files(model, trained.resumable) if trained.trainable else []
        keys = [f"methods.{model}", *(["smoothing"] if spec.smooth_of else []), "predict", *_torch(trained)]
        cmd = f"redbench predict {method} {dataset}"
        cmds = _grid(cmd, matrix) if many else _each(cmd, datasets)
        stages[f"predict_{_stage_name(name)}"] = Stage(
            cmd, cmds, [*models, f"data/shards/{dataset}"], keys, [f"predictions/{method}/{dataset}.h5"],
            foreach=None if many else datasets, matrix=matrix)
    stages["compare"] = _compare("redbench compare", "", datasets)
    stages["compare"].params.append("train.seed")
    # every learned method's validation NME, loss and cost per epoch in one figure (dvc plots shows each log)
    logs = [f"models/{m}/{TRAIN_LOG}" for m in trainable if m != "mean_shape"]
    cmd = "redbench curves --out plots/training_curves.png"
    stages["training_curves"] = Stage(cmd, [cmd], [*(f"data/shards/{d}/manifest.json" for d in train_data), *logs],
                                      ["train.datasets"], [{"plots/training_curves.png": {"cache": False}}])
    return stages


def _compare(cmd: str, data: str, datasets: list[str], predictions: str = "predictions",
             results: str = "results") -> Stage:
    outs: list[Any] = [{f"{results}/leaderboard.{ext}": {"cache": False}} for ext in ("md", "csv", "tex", "html")]
    return Stage(cmd, [cmd], [predictions, *(f"{data}data/shards/{d}/manifest.json" for d in datasets)], ["compare"],
                 [{f"{results}/metrics.json": {"cache": False}}, *outs, {f"{results}/plots": {"cache": False}}],
                 metrics=[{f"{results}/summary.json": {"cache": False}}],
                 plots=[{f"{results}/ced.csv": {"cache": False, "x": "threshold", "y": "ced"}}])


# The reference profile (reference/dvc.yaml): its own synthetic data (more test people than the default's), every
# learned method trained with each of SEEDS, RED's ablations with ABLATION_SEEDS (benchmark/reference_report.py),
# every row predicted under every box protocol, one compare (the hierarchical tests over seeds) and the report.
# mean_shape is trained once: with max_frames above the training frames its training draws nothing at random.
SEEDS = (0, 1, 2, 3, 4)
UNSEEDED = ("mean_shape",)
OTHER_BOXES = ("gt_jitter", "detector", "tracking")  # the main results are params predict.box_protocol's (gt)


def _seeded_train(group: list[str], seeds: list[int], shards: list[str]) -> Stage:
    """Train every method of one module (a matrix over method and seed) into models/seed<k>/<method>, resumable
    (`--resume`: a finished model of the same version, params, seed and data is kept)."""
    from redbench.methods import get_method
    from redbench.methods.protocol import CHECKPOINT, TRAIN_INFO, WEIGHTS
    from redbench.methods.train_log import METRICS, TRAIN_LOG
    from redbench.red.diagnostics import DIAGNOSTICS

    folder = "models/seed${item.seed}/${item.method}"
    cmd = f"redbench train ${{item.method}} --seed ${{item.seed}} --out {folder} --resume"
    if get_method(group[0]).resumable:  # the small files go to git as they finish; weights and checkpoint: DVC
        outs: list[Any] = [f"{folder}/{WEIGHTS}", f"{folder}/{TRAIN_INFO}",
                           {f"{folder}/{CHECKPOINT}": {"persist": True}},
                           *({f"{folder}/{f}": {"cache": False}} for f in (METRICS, TRAIN_LOG, DIAGNOSTICS))]
    else:
        outs = [{folder: {"persist": True}}]
    return Stage(cmd, [], shards, ["methods.${item.method}", "train", *_torch(get_method(group[0]))], outs,
                 matrix={"method": group, "seed": seeds})


def _control(trainable: list[str], seeds: list[int]) -> Stage:
    """The positive control (`redbench control`) of every training seed: RED, RED-static and every seeded static
    method on the validation people's still clips, the oracle built on RED-static."""
    from redbench.benchmark.reference_report import RED_METHODS
    from redbench.methods import get_method

    methods = [*RED_METHODS.values(), *(m for m in trainable if m not in RED_METHODS.values() and m not in UNSEEDED)]
    folder = "models/seed${item.seed}"
    pairs = " ".join(f"-m {m}={folder}/{m}" for m in methods)
    out = "control/seed-${item.seed}.json"
    return Stage(f"redbench control {pairs} --oracle red_static --out {out}", [],
                 [*(f for m in methods for f in _model_files(f"seed${{item.seed}}/{m}", get_method(m).resumable)),
                  "data/shards/300vw"],
                 [*(f"methods.{m}" for m in methods), "train", "torch"], [{out: {"cache": False}}],
                 matrix={"seed": seeds},
                 comment="where time provably helps (benchmark/positive_control.py): does RED beat RED-static there")


def _predict_stages(base: str, rows: list[str], datasets: list[str], seeds: list[int]) -> dict[str, Stage]:
    """The prediction stages of one trained method (or one without training) and its +smooth row: every dataset
    with the seed-0 model under the main box protocol; 300vw with every other seed; 300vw under the other box
    protocols with every seed (benchmark/layout.py's paths)."""
    from redbench.methods import get_method

    spec = get_method(base)
    name = _stage_name(base)
    keys = [f"methods.{base}", "predict", *(["smoothing"] if len(rows) > 1 else []), *_torch(spec)]

    def model(seed: str) -> list[str]:
        if not spec.trainable:
            return []
        return _model_files(f"seed{seed}/{base}", spec.resumable)

    one = len(rows) == 1
    row = rows[0] if one else "${item.row}"
    axes: dict[str, list] = {} if one else {"row": rows}
    first = seeds[0]
    stages = {f"predict_{name}": Stage(
        f"redbench predict {row} ${{item.dataset}} --models-dir models/seed{first}",
        [], [*model(str(first)), "data/shards/${item.dataset}"], keys, [f"predictions/{row}/${{item.dataset}}.h5"],
        matrix={**axes, "dataset": datasets})}
    if len(seeds) > 1:
        stages[f"predict_{name}_seeds"] = Stage(
            f"redbench predict {row} 300vw --models-dir models/seed${{item.seed}} "
            f"--out predictions/{row}/seed-${{item.seed}}/300vw.h5", [],
            [*model("${item.seed}"), "data/shards/300vw"], keys, [f"predictions/{row}/seed-${{item.seed}}/300vw.h5"],
            matrix={**axes, "seed": seeds[1:]})
    seed_part = "/seed-${item.seed}" if len(seeds) > 1 else ""
    seed_axis = {"seed": seeds} if len(seeds) > 1 else {}
    models = "${item.seed}" if len(seeds) > 1 else str(first)
    out = f"predictions/box-${{item.box}}/{row}{seed_part}/300vw.h5"
    stages[f"predict_{name}_boxes"] = Stage(
        f"redbench predict {row} 300vw --box ${{item.box}} --models-dir models/seed{models} --out {out}", [],
        [*model(models), "data/shards/300vw"], keys, [out], matrix={**axes, **seed_axis, "box": list(OTHER_BOXES)})
    return stages


def reference_stages(params: dict) -> dict[str, Stage]:
    """The reference profile (run in reference/, on its own data)."""
    from redbench.benchmark.reference_report import ABLATION_SEEDS, ABLATIONS, RED_METHODS, ablation_folder
    from redbench.methods import get_method

    rows, trainable, datasets, train_data = _rows(params)
    base = default_stages(params)
    stages = {"fetch": base["fetch"], "preprocess": base["preprocess"]}
    shards = [f"data/shards/{d}" for d in train_data]
    seeds, once = list(SEEDS), [SEEDS[0]]
    for group in _groups(trainable, lambda m: get_method(m).module):
        stages[f"train_{_stage_name(group[0])}"] = _seeded_train(group, once if group[0] in UNSEEDED else seeds,
                                                                  shards)
    stages["train_red"].comment = ("RED and RED-static, each with every seed; an interrupted run resumes from "
                                   "models/seed<k>/<method>.partial/ (`--resume`)")
    variants = {"variant": [v for v in ABLATIONS if v not in RED_METHODS], "seed": list(ABLATION_SEEDS)}
    row = ablation_folder("${item.variant}", "${item.seed}")
    stages["ablations"] = Stage(
        f"redbench train red --set variant=${{item.variant}} --seed ${{item.seed}} --out models/ablations/{row} "
        "--resume", [], shards, ["methods.red", "train", "torch"], [{f"models/ablations/{row}": {"persist": True}}],
        matrix=variants, comment="RED's ablations at convergence (full and static are train_red's rows)")
    stages["control"] = _control(trainable, seeds)
    for group in _groups(rows, lambda m: get_method(m).smooth_of or m):
        b = get_method(group[0]).smooth_of or group[0]
        stages.update(_predict_stages(b, group, datasets, once if b in UNSEEDED or not get_method(b).trainable
                                      else seeds))
    stages["compare"] = _compare("redbench compare", "", datasets)
    stages["compare"].params.append("train.seed")
    stages["report"] = Stage(
        "redbench report --models models --results results --control control --timings timings.csv --out report",
        [], ["models", "results/metrics.json", "control", "timings.csv"], [], [{"report": {"cache": False}}],
        comment="the verdict (verdict.csv, seeds.csv), the temporal diagnostics, the positive control, the wall "
                "time, the equal-compute view and the convergence, ablation and leaderboard tables")
    for stage in stages.values():  # the expanded commands of the stages above that did not list them
        if not stage.cmds:
            stage.cmds = (_grid(stage.cmd, stage.matrix) if stage.matrix else
                          _each(stage.cmd, stage.foreach) if stage.foreach else [stage.cmd])
    return stages
