"""params.yaml and the config dataclasses name the same defaults: a key left out of params.yaml means the
value params.yaml shows, so the two may not disagree (every section of the methods layer and its nested
configs: the train loops, loss weights, stopping rules)."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml

from redbench.methods import TrainParams, method_table
from redbench.methods.factory import method_config

PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"


def _sections() -> list[tuple[str, Any, dict]]:
    """(params key, the config its defaults give, its section in params.yaml)."""
    from redbench.baselines import smoothing
    from redbench.benchmark.predict import PredictConfig

    params = yaml.safe_load(PARAMS.read_text())
    out = [("train", TrainParams(), params["train"]), ("smoothing", smoothing.Config(), params["smoothing"]),
           ("predict", PredictConfig(), params["predict"])]
    for name, spec in method_table().items():
        if spec.smooth_of is None:  # the row's defaults as the factory builds them from an empty section
            out.append((f"methods.{name}", method_config(spec, {}), params["methods"].get(name) or {}))
    return out


def disagreements(default: Any, section: dict, where: str) -> list[str]:
    """Keys of `section` whose value differs from the config `default` (recursing into nested configs)."""
    cls = type(default)
    hints = typing.get_type_hints(cls)
    out = []
    for key, value in section.items():
        assert key in hints, f"{where}.{key}: not a field of {cls.__name__}"
        have = getattr(default, key)
        if dataclasses.is_dataclass(hints[key]):
            out += disagreements(have, value, f"{where}.{key}")
        elif (list(have) if isinstance(have, tuple) else have) != value:
            out.append(f"{where}.{key}: params.yaml {value!r}, dataclass default {have!r}")
    return out


@pytest.mark.parametrize("where, default, section", _sections(), ids=lambda v: v if isinstance(v, str) else "")
def test_dataclass_defaults_match_params_yaml(where: str, default: Any, section: dict) -> None:
    assert disagreements(default, section, where) == []


@dataclasses.dataclass(frozen=True)
class _Inner:
    epochs: int = 8


@dataclasses.dataclass(frozen=True)
class _Outer:
    size: tuple[int, ...] = (32, 64)
    loop: _Inner = _Inner()


def test_a_disagreement_is_found() -> None:
    assert disagreements(_Outer(), {"size": [32, 64], "loop": {"epochs": 8}}, "m") == []
    assert disagreements(_Outer(), {"size": [32], "loop": {"epochs": 10}}, "m") == [
        "m.size: params.yaml [32], dataclass default (32, 64)",
        "m.loop.epochs: params.yaml 10, dataclass default 8"]
