"""The params loader: safe YAML, strict keys, type checks with the YAML 1.1 quirks handled."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from redbench.config import ConfigError, from_dict, load_params, params_hash, section

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Inner:
    lr: float = 0.1
    sizes: tuple[int, ...] = (1, 2)


@dataclass(frozen=True)
class Outer:
    name: str = "x"
    seed: int = 0
    flag: bool = False
    mix: tuple[float, float, float] = (0.2, 0.3, 0.5)
    path: str | None = None
    inner: Inner = field(default_factory=Inner)


def test_missing_keys_take_defaults_and_nested_sections_recurse():
    cfg = from_dict(Outer, {"seed": 3, "inner": {"lr": 2}})
    assert cfg == Outer(seed=3, inner=Inner(lr=2.0))
    assert isinstance(cfg.inner.lr, float)
    assert from_dict(Outer, None) == Outer()


def test_lists_become_tuples_with_typed_elements():
    cfg = from_dict(Outer, {"mix": [1, 0, 0], "inner": {"sizes": [4, 5, 6]}})
    assert cfg.mix == (1.0, 0.0, 0.0) and all(isinstance(v, float) for v in cfg.mix)
    assert cfg.inner.sizes == (4, 5, 6)


def test_yaml_exponent_without_dot_is_a_float():
    # PyYAML (YAML 1.1) parses `1e-3` as the string "1e-3".
    cfg = from_dict(Inner, {"lr": "1e-3"})
    assert cfg.lr == pytest.approx(0.001)


@pytest.mark.parametrize(
    "data, where",
    [
        ({"seed": "three"}, "Outer.seed"),
        ({"seed": 1.5}, "Outer.seed"),
        ({"seed": True}, "Outer.seed"),
        ({"flag": "yes please"}, "Outer.flag"),
        ({"name": 5}, "Outer.name"),
        ({"mix": [1, 2]}, "Outer.mix"),
        ({"inner": {"lr": "fast"}}, "Outer.inner.lr"),
        ({"inner": {"sizes": [1, "a"]}}, "Outer.inner.sizes[1]"),
        ({"inner": 3}, "Outer.inner"),
    ],
)
def test_wrong_types_name_the_key(data, where):
    with pytest.raises(ConfigError) as e:
        from_dict(Outer, data)
    assert str(e.value).startswith(f"{where}:"), str(e.value)


def test_unknown_keys_are_an_error_listing_known_ones():
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['sede'\]; known: .*'seed'"):
        from_dict(Outer, {"sede": 1})


def test_load_params_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_params(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping at the top level"):
        load_params(listy)
    # safe loader: python tags are refused, not executed
    evil = tmp_path / "evil.yaml"
    evil.write_text("a: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_params(evil)


def test_section_and_hash():
    params = {"outer": {"seed": 7}, "other": 1}
    assert section(params, "outer", Outer).seed == 7
    assert section(params, "missing", Outer) == Outer()
    assert params_hash({"a": 1, "b": 2}) == params_hash({"b": 2, "a": 1})
    assert params_hash({"a": 1}) != params_hash({"a": 2})


def test_repository_fetch_params_build_fetch_configs():
    from redbench.datasets.fetch import FetchConfig

    params = load_params(REPO / "params.yaml")
    for dataset in ("300w", "300vw", "tf"):
        cfg = from_dict(FetchConfig, params["fetch"][dataset], where=f"fetch.{dataset}")
        assert cfg.source in ("synthetic", "path", "url")


def test_with_overrides_sets_nested_keys_as_yaml_values_on_a_copy() -> None:
    from redbench.config import with_overrides

    section = {"variant": "full", "train": {"epochs": 12, "stop": {"patience": 0}}}
    out = with_overrides(section, ["variant=no_cls", "train.epochs=20", "train.stop.patience=3", "box_scale=1.5",
                                   "map_points=null"], "methods.red")
    assert out == {"variant": "no_cls", "train": {"epochs": 20, "stop": {"patience": 3}}, "box_scale": 1.5,
                   "map_points": None}
    assert section == {"variant": "full", "train": {"epochs": 12, "stop": {"patience": 0}}}  # not mutated
    assert with_overrides(None, ["train.lr=0.01"], "methods.red") == {"train": {"lr": 0.01}}


@pytest.mark.parametrize("item, message", [
    ("variant", "methods.red: override 'variant' is not key=value"),
    ("=3", "methods.red: override '=3' is not key=value"),
    ("train..lr=1", "methods.red: override 'train..lr=1' is not key=value"),
    ("variant.x=1", "methods.red.variant: is 'full', not a section, in override 'variant.x=1'"),
    ("lr=.nan", "methods.red.lr: must be finite, got nan"),
])
def test_with_overrides_names_a_bad_override(item: str, message: str) -> None:
    from redbench.config import ConfigError, with_overrides

    with pytest.raises(ConfigError) as e:
        with_overrides({"variant": "full"}, [item], "methods.red")
    assert str(e.value) == message


def test_a_nested_section_missing_keys_take_the_fields_own_default() -> None:
    """heatmap's loop trains 12 epochs at lr 0.003 by default, a bare TrainLoop 8 at 0.002: a section that
    gives only `epochs` keeps heatmap's lr."""
    from redbench.baselines.heatmap import Config

    cfg = from_dict(Config, {"loop": {"epochs": 60}}, where="methods.heatmap")
    assert cfg.loop.epochs == 60 and cfg.loop.lr == Config().loop.lr == 0.003
    assert from_dict(Config, {"loop": None}).loop == Config().loop
    assert from_dict(Config, {}).loop.epochs == 12
