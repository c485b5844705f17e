"""Unpack the carried wheels (scripts/gpu_wheels/*.whl) whose modules this Python lacks into one folder meant for
PYTHONPATH, leaving the machine's own environment untouched. Run by scripts/gpu_check.sh; stdlib only, so it
runs before anything is installed. The accelerator machines have no network: a package the GPU check needs
that they lack travels here as a cp312 manylinux wheel (now PyYAML, which redbench.config imports).

    python scripts/_gpu_wheels.py WHEEL_DIR TARGET_DIR    # prints the modules it unpacked, one per line
"""

from __future__ import annotations

import importlib.util
import sys
import zipfile
from pathlib import Path


def top_level_modules(wheel: zipfile.ZipFile, file_name: str) -> list[str]:
    """The wheel's public top-level modules (its top_level.txt), else the distribution name."""
    for name in wheel.namelist():
        if name.endswith(".dist-info/top_level.txt"):
            return [m for m in wheel.read(name).decode().split() if not m.startswith("_")]
    return [file_name.split("-")[0].lower()]


def carry(wheel_dir: str | Path, target: str | Path) -> list[str]:
    """Unpack into `target` each wheel of which some top-level module is not importable; return those modules."""
    added = []
    for path in sorted(Path(wheel_dir).glob("*.whl")):
        with zipfile.ZipFile(path) as wheel:
            missing = [m for m in top_level_modules(wheel, path.name) if importlib.util.find_spec(m) is None]
            if missing:
                wheel.extractall(target)
                added += missing
    return added


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    print("\n".join(carry(sys.argv[1], sys.argv[2])))
