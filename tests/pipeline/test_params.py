"""params.yaml is written from the config dataclasses (every field, its default, its source comment), and the
profiles (reference, micro) hold only the overrides they make."""

from __future__ import annotations

import dataclasses

import yaml

from redbench.config import from_dict
from redbench.pipeline.imports import REPO
from redbench.pipeline.params import default_configs, default_params, field_comments, params_yaml


def test_params_yaml_reads_back_as_every_default() -> None:
    text = params_yaml()
    assert yaml.safe_load(text) == default_params()
    assert (REPO / "params.yaml").read_text() == text  # committed as generated


def test_each_section_loads_into_its_default_config() -> None:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    for name, config in default_configs().items():
        if dataclasses.is_dataclass(config):
            assert from_dict(type(config), params[name], where=name) == config, name
        else:  # fetch and methods: one config per dataset / method
            assert set(params[name]) == set(config)
            for key, cfg in config.items():
                assert from_dict(type(cfg), params[name][key], where=f"{name}.{key}") == cfg, key


def test_red_static_is_written_with_its_row_default() -> None:
    methods = yaml.safe_load((REPO / "params.yaml").read_text())["methods"]
    assert methods["red_static"]["variant"] == "static" and methods["red"]["variant"] == "full"
    assert {k: v for k, v in methods["red_static"].items() if k != "variant"} == \
        {k: v for k, v in methods["red"].items() if k != "variant"}


@dataclasses.dataclass(frozen=True)
class _Example:
    size: int = 8  # input px
    # two lines
    # above a field
    tail: float = 0.5
    plain: str = "x"


def test_field_comments_are_read_from_the_source() -> None:
    assert field_comments(_Example) == {"size": ([], "input px"), "tail": (["two lines", "above a field"], ""),
                                        "plain": ([], "")}


def _tracked(dvc_file: str) -> set[str]:
    """The params keys the stages of a dvc.yaml name (expanded)."""
    import sys

    sys.path.insert(0, str(REPO / "tests"))
    from test_dependencies import expand_stages

    return {k for s in expand_stages(yaml.safe_load((REPO / dvc_file).read_text())).values() for k in s["params"]}


def not_overrides(profile: dict, defaults: dict, tracked: set[str], prefix: str = "") -> list[str]:
    """Keys of a profile that override nothing: unknown, equal to the default, or an empty section, unless DVC
    tracks exactly that key (then it must be there)."""
    bad = []
    for key, value in profile.items():
        path = f"{prefix}{key}"
        if key not in defaults:
            bad.append(f"{path}: not a params key")
        elif isinstance(value, dict) and value:
            bad += not_overrides(value, defaults[key], tracked, path + ".")
        elif (value == {} or value == defaults[key]) and path not in tracked:
            bad.append(f"{path}: the default")
    return bad


def test_the_profiles_hold_only_real_overrides() -> None:
    defaults = default_params()
    reference = yaml.safe_load((REPO / "reference/params.yaml").read_text())
    assert not_overrides(reference, defaults, _tracked("reference/dvc.yaml")) == []
    micro = yaml.safe_load((REPO / "benchmark/reference/micro_params.yaml").read_text())
    assert not_overrides(micro, defaults, set()) == []
    assert not_overrides({"train": {"seed": 0, "val_fraction": 0.5}, "predict": {}, "methods": {"sdm": {"sise": 1}}},
                         defaults, {"predict"}) == ["train.seed: the default", "methods.sdm.sise: not a params key"]
