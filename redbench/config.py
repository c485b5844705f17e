"""Load params (safe YAML) into frozen dataclasses. Only the CLI calls this; library code takes configs.

The dataclasses hold every default: a params file may leave out sections and keys, which take them
(params.yaml is written from them: redbench.pipeline.params).

Value ranges: a config dataclass declares them per field with `param(...)` (dataclass field metadata), e.g.
`context_scale: float = param(2.0, min=0, exclusive_min=True)`; `from_dict` checks them after building the
object and names the key (`preprocess.context_scale: must be > 0, got 0.0`). A range on a tuple field
applies to each element. Checks that tie several fields together stay in `__post_init__` as ValueErrors,
which `from_dict` reports with the section name. NaN and inf are refused everywhere: never a valid value.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import os
import types
import typing
from pathlib import Path
from typing import Any, Iterable, TypeVar

import yaml

from redbench._io import InputFileError, check_regular_file

T = TypeVar("T")

# Top-level sections of a params file; a misspelt one (`compre:`) is an error, not silently ignored.
KNOWN_SECTIONS = ("fetch", "preprocess", "train", "torch", "methods", "smoothing", "predict", "synthetic", "compare")
PROJECT_PARAMS = "params.yaml"
# A params file is a few KB; YAML aliases can make a small one expand to any size (8 levels of 10 aliases:
# 10**8 values), so the expanded value count is bounded before anything walks it.
MAX_PARAMS_BYTES = 2**20
MAX_PARAMS_VALUES = 100_000


class ConfigError(ValueError):
    """A params file or section that does not match the expected schema."""


def param(default: Any = dataclasses.MISSING, *, min: float | None = None, max: float | None = None,
          exclusive_min: bool = False, exclusive_max: bool = False, choices: Iterable[Any] | None = None,
          path: bool = False, default_factory: Any = dataclasses.MISSING) -> Any:
    """A dataclass field with a checked range (`min`/`max`, inclusive unless `exclusive_*`), a set of allowed
    `choices`, or `path=True` (a leading `~` is expanded when loaded)."""
    meta: dict[str, Any] = {}
    if min is not None:
        meta["min"], meta["exclusive_min"] = min, exclusive_min
    if max is not None:
        meta["max"], meta["exclusive_max"] = max, exclusive_max
    if choices is not None:
        meta["choices"] = tuple(choices)
    if path:
        meta["path"] = True
    return dataclasses.field(default=default, default_factory=default_factory, metadata=meta)


def load_params(path: str | Path | None = None) -> dict[str, Any]:
    """The sections of the params file; what it leaves out takes the dataclass defaults where it is loaded.

    `path=None` reads ./params.yaml when present (a project folder) and nothing otherwise (every default); a
    given path must exist. A section's params hash is that of the file's text.
    """
    if path is None:
        if not Path(PROJECT_PARAMS).exists():
            return {}
        path = PROJECT_PARAMS
    path = Path(path).expanduser()
    if not path.exists():
        raise ConfigError(f"{path}: params file not found")
    try:
        check_regular_file(path, MAX_PARAMS_BYTES, "params file")  # a FIFO would block the read for ever
        text = path.read_text(encoding="utf-8")
    except InputFileError as e:
        raise ConfigError(str(e)) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read the params file: {e}") from None
    return _parse(text, str(path))


def _parse(text: str, name: str) -> dict[str, Any]:
    try:
        _check_nodes(yaml.compose(text, Loader=yaml.SafeLoader), name)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{name}: not valid YAML: {e}") from None
    except RecursionError:
        raise ConfigError(f"{name}: nested too deeply") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{name}: expected a mapping at the top level, got {type(data).__name__}")
    unknown = sorted(str(k) for k in set(data) - set(KNOWN_SECTIONS))
    if unknown:
        raise ConfigError(f"{name}: unknown section(s) {unknown}; known: {list(KNOWN_SECTIONS)}")
    try:
        _refuse_non_finite(data, "")
    except ConfigError as e:
        raise ConfigError(f"{name}: {e}") from None
    return data


def _check_nodes(root: yaml.Node | None, name: str) -> None:
    """Before the YAML is built: refuse a key given twice in one mapping (PyYAML keeps the last silently), an
    alias that contains itself, and a document whose aliases expand to more than MAX_PARAMS_VALUES values.

    Counted on the node graph, where an alias is the node it names: each node's expanded size once.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        if id(node) in open_nodes:
            raise ConfigError(f"{name}:{node.start_mark.line + 1}: an alias that contains itself")
        open_nodes.add(id(node))
        n = 1
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if key.value in seen:
                        raise ConfigError(f"{name}:{key.start_mark.line + 1}: key {key.value!r} given twice in one "
                                          f"mapping (also on line {seen[key.value]})")
                    seen[key.value] = key.start_mark.line + 1
                n += size(key) + size(value)
        elif isinstance(node, yaml.SequenceNode):
            n += sum(size(v) for v in node.value)
        open_nodes.discard(id(node))
        sizes[id(node)] = n
        if n > MAX_PARAMS_VALUES:
            raise ConfigError(f"{name}: expands to more than {MAX_PARAMS_VALUES:,} values (nested aliases?); "
                              "refused")
        return n

    if root is not None:
        size(root)


def _refuse_non_finite(value: Any, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where}: must be finite, got {value}")
    if isinstance(value, dict):
        for k, v in value.items():
            _refuse_non_finite(v, f"{where}.{k}" if where else str(k))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _refuse_non_finite(v, f"{where}[{i}]")


def params_hash(params: dict[str, Any]) -> str:
    """A stable short hash of a params mapping (or a section of it), for provenance records."""
    blob = json.dumps(params, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def from_dict(cls: type[T], data: Any, where: str = "", base: Any = None) -> T:
    """Build dataclass `cls` from a mapping, recursing into nested dataclass fields.

    Unknown keys are an error (a typo in params.yaml must not be silently ignored); missing keys take the
    defaults: `base`'s values when given, else the dataclass's. A nested section's missing keys take the
    field's own default (heatmap's `loop` trains 12 epochs, a bare TrainLoop 8). Ranges declared with `param`
    are checked. `where` names the section in errors.
    """
    where = where or cls.__name__
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(str(k) for k in set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in data.items():
        if dataclasses.is_dataclass(hints[name]) and (isinstance(value, dict) or value is None):
            inner = getattr(base, name) if base is not None else _field_default(fields[name])
            value = from_dict(hints[name], value, f"{where}.{name}", base=inner)
        else:
            value = _coerce(hints[name], value, f"{where}.{name}")
        if fields[name].metadata.get("path") and isinstance(value, str):
            value = os.path.expanduser(value)
        _check_field(fields[name], value, where)  # before __post_init__'s checks that tie fields together
        kwargs[name] = value
    try:
        obj = cls(**kwargs) if base is None else dataclasses.replace(base, **kwargs)
    except (TypeError, ValueError) as e:
        if isinstance(e, ConfigError):
            raise
        raise ConfigError(f"{where}: {e}") from None
    check_ranges(obj, where)
    return obj


def _field_default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else None


def check_ranges(obj: Any, where: str) -> None:
    """Check the `param` ranges and choices of every field of dataclass `obj` (not recursing: nested
    dataclasses are checked when from_dict builds them)."""
    for f in dataclasses.fields(obj):
        _check_field(f, getattr(obj, f.name), where)


def _check_field(f: dataclasses.Field, value: Any, where: str) -> None:
    if not f.metadata:
        return
    values = value if isinstance(value, tuple) else (value,)
    for i, v in enumerate(values):
        key = f"{where}.{f.name}" + (f"[{i}]" if isinstance(value, tuple) else "")
        _check_value(v, f.metadata, key)


def _check_value(v: Any, meta: typing.Mapping[str, Any], key: str) -> None:
    if v is None:
        return
    if "choices" in meta and v not in meta["choices"]:
        raise ConfigError(f"{key}: must be one of {list(meta['choices'])}, got {v!r}")
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return
    if isinstance(v, float) and not math.isfinite(v):
        raise ConfigError(f"{key}: must be finite, got {v}")
    if "min" in meta:
        lo, strict = meta["min"], meta["exclusive_min"]
        if v < lo or (strict and v == lo):
            raise ConfigError(f"{key}: must be {'>' if strict else '>='} {lo}, got {v}")
    if "max" in meta:
        hi, strict = meta["max"], meta["exclusive_max"]
        if v > hi or (strict and v == hi):
            raise ConfigError(f"{key}: must be {'<' if strict else '<='} {hi}, got {v}")


def _coerce(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        if len(args) == 1:
            return _coerce(args[0], value, where)
        return value
    if origin is tuple and isinstance(value, (list, tuple)):
        args = typing.get_args(tp)
        if not args:
            return tuple(value)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise ConfigError(f"{where}: expected {len(args)} values, got {len(value)}")
        return tuple(_coerce(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    if tp is tuple and isinstance(value, list):
        return tuple(value)
    if tp in (bool, int, float, str):
        return _scalar(tp, value, where)
    return value


def _scalar(tp: type, value: Any, where: str) -> Any:
    """Check a bool/int/float/str value; ints are accepted as floats."""
    if tp is float and isinstance(value, str):
        # YAML 1.1 (PyYAML) reads `1e-3` (no dot) as a string; accept it as the number it means.
        try:
            value = float(value)
        except ValueError:
            pass
    if tp is float and isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where}: must be finite, got {value}")
    ok = isinstance(value, tp) and not (tp is not bool and isinstance(value, bool))
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not ok:
        raise ConfigError(f"{where}: expected {tp.__name__}, got {type(value).__name__} {value!r}")
    return value


def with_overrides(section: dict[str, Any] | None, overrides: Iterable[str], where: str) -> dict[str, Any]:
    """A copy of params `section` with `key=value` overrides applied (dotted keys reach nested sections; values
    are read as YAML: `variant=no_cls`, `train.epochs=20`, `train.stop={patience: 3}`). The section is not
    checked here: `from_dict` names a key it does not know."""
    out = copy.deepcopy(section or {})
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key or any(not part for part in key.split(".")):
            raise ConfigError(f"{where}: override {item!r} is not key=value")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ConfigError(f"{where}.{key}: value {text!r} is not valid YAML: {e}") from None
        _refuse_non_finite(value, f"{where}.{key}")
        *path, last = key.split(".")
        node = out
        for i, part in enumerate(path):
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{where}.{'.'.join(path[:i + 1])}: is {node!r}, not a section, "
                                  f"in override {item!r}")
        node[last] = value
    return out


def section(params: dict[str, Any], name: str, cls: type[T]) -> T:
    """The dataclass for top-level section `name` of params."""
    return from_dict(cls, params.get(name), where=name)
