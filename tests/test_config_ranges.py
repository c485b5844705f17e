"""Params values: declared ranges, finiteness, known sections, `~` paths and the packaged defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from redbench.config import KNOWN_SECTIONS, ConfigError, from_dict, load_params, param

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Ranged:
    scale: float = param(2.0, min=0, exclusive_min=True)
    ci: float = param(0.95, min=0, max=1, exclusive_min=True, exclusive_max=True)
    count: int = param(1, min=1)
    mode: str = param("a", choices=("a", "b"))
    thresholds: tuple[float, ...] = param((0.08,), min=0, exclusive_min=True)
    root: str | None = param(None, path=True)


@dataclass(frozen=True)
class Paired:
    lo: float = 0.0
    hi: float = 1.0

    def __post_init__(self) -> None:
        if self.lo >= self.hi:
            raise ValueError(f"lo ({self.lo}) must be below hi ({self.hi})")


@dataclass(frozen=True)
class Holder:
    ranged: Ranged = field(default_factory=Ranged)


@pytest.mark.parametrize("data, message", [
    ({"scale": 0}, "sec.scale: must be > 0, got 0.0"),
    ({"scale": -5}, "sec.scale: must be > 0, got -5.0"),
    ({"ci": 1.5}, "sec.ci: must be < 1, got 1.5"),
    ({"ci": 1}, "sec.ci: must be < 1, got 1.0"),
    ({"count": 0}, "sec.count: must be >= 1, got 0"),
    ({"mode": "c"}, "sec.mode: must be one of ['a', 'b'], got 'c'"),
    ({"thresholds": [0.1, -0.2]}, "sec.thresholds[1]: must be > 0, got -0.2"),
    ({"scale": float("nan")}, "sec.scale: must be finite, got nan"),
    ({"scale": "inf"}, "sec.scale: must be finite, got inf"),
    ({"scale": "-.inf"}, "sec.scale: expected float"),  # YAML's spelling is parsed by YAML, not by float()
])
def test_out_of_range_values_name_the_key(data, message):
    with pytest.raises(ConfigError) as e:
        from_dict(Ranged, data, where="sec")
    assert str(e.value).startswith(message), str(e.value)


def test_in_range_values_and_boundaries_pass():
    cfg = from_dict(Ranged, {"scale": 1e-9, "ci": 0.5, "count": 1, "mode": "b", "thresholds": [0.1, 1.0]})
    assert (cfg.scale, cfg.ci, cfg.count, cfg.mode, cfg.thresholds) == (1e-9, 0.5, 1, "b", (0.1, 1.0))


def test_nested_sections_and_post_init_errors_name_the_section():
    with pytest.raises(ConfigError, match=r"^top\.ranged\.count: must be >= 1"):
        from_dict(Holder, {"ranged": {"count": -1}}, where="top")
    with pytest.raises(ConfigError, match=r"^pair: lo \(2\.0\) must be below hi"):
        from_dict(Paired, {"lo": 2}, where="pair")


def test_paths_expand_the_home_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert from_dict(Ranged, {"root": "~/datasets/300vw.zip"}).root == str(tmp_path / "datasets/300vw.zip")
    assert from_dict(Ranged, {}).root is None


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, message", [
    ("compre: {out_dir: x}\n", "unknown section(s) ['compre']"),
    ("preprocess: {context_scale: .nan}\n", "preprocess.context_scale: must be finite, got nan"),
    ("compare: {scoring: {thresholds: [0.08, .inf]}}\n", "compare.scoring.thresholds[1]: must be finite, got inf"),
])
def test_load_params_refuses_unknown_sections_and_non_finite_values(tmp_path, text, message):
    path = _write(tmp_path / "p.yaml", text)
    with pytest.raises(ConfigError) as e:
        load_params(path)
    assert str(e.value).startswith(f"{path}: "), str(e.value)
    assert message in str(e.value), str(e.value)


def test_params_file_keys_merge_over_the_packaged_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    defaults = load_params()  # no params.yaml here: the packaged defaults alone
    assert set(defaults) == set(KNOWN_SECTIONS) and defaults["compare"]["out_dir"] == "results"
    _write(tmp_path / "params.yaml", "compare: {out_dir: elsewhere, bootstrap: {seed: 3}, datasets: [tf]}\n")
    params = load_params()  # ./params.yaml is found and overrides the keys it gives, key by key
    assert params["compare"] == {**defaults["compare"], "out_dir": "elsewhere", "datasets": ["tf"],
                                 "bootstrap": {**defaults["compare"]["bootstrap"], "seed": 3}}
    assert params["preprocess"] == defaults["preprocess"]
    with pytest.raises(ConfigError, match="params file not found"):
        load_params(tmp_path / "missing.yaml")


def test_the_packaged_defaults_are_the_repository_params():
    packaged = yaml.safe_load((REPO / "redbench" / "defaults.yaml").read_text())
    assert packaged == yaml.safe_load((REPO / "params.yaml").read_text()), (
        "redbench/defaults.yaml differs from params.yaml: copy params.yaml there")
    assert set(packaged) <= set(KNOWN_SECTIONS)
