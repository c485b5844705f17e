"""Re-record in dvc.lock (`dvc commit`) the finished stages of a pipeline whose only changes are code
dependencies, and params sections that are new (e.g. one added with a default that reproduces the old
behaviour): for a long run that goes on across a code change that does not alter what its stages compute.

That the change computes the same is a claim to check before, not something this script can know: e.g. re-run
one stage per method with the new code and compare its output with the recorded one (docs/reference_run.md,
"Its code"). Any other change (data, outputs, a param that was there and changed, the command) leaves the
stage as it is, so `dvc repro` still runs it.

    python scripts/relock_code_changes.py reference/dvc.yaml --new-param torch [--dry-run]

Also drops the lock's entries for stages the dvc.yaml no longer defines (an older layout's).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml


def code_only(changes: list, params_file: str, new_params: set[str]) -> bool:
    """Whether a stage's `dvc status --json` entry lists only modified code files and new params in `new_params`."""
    for change in changes:
        if not isinstance(change, dict) or set(change) != {"changed deps"}:
            return False
        for path, what in change["changed deps"].items():
            if isinstance(what, dict):  # params of one file: only the allowed new sections
                if path != params_file or any(v != "new" or k not in new_params for k, v in what.items()):
                    return False
            elif what != "modified" or not path.endswith(".py") and not _code_folder(path):
                return False
    return True


def _code_folder(path: str) -> bool:
    p = Path(path)
    return p.is_dir() and any(p.rglob("*.py")) and not any(f.suffix not in (".py", ".pyc") and f.is_file()
                                                            for f in p.rglob("*") if "__pycache__" not in f.parts)


def stale_entries(lock: Path, defined: set[str]) -> list[str]:
    stages = yaml.safe_load(lock.read_text(encoding="utf-8"))["stages"]
    return [name for name in stages if name not in defined]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dvc_yaml", type=Path)
    ap.add_argument("--new-param", action="append", default=[], help="a params section allowed to be new")
    ap.add_argument("--dvc", default=str(Path(sys.executable).with_name("dvc")))
    ap.add_argument("--dry-run", action="store_true", help="list what would be done")
    args = ap.parse_args(argv)
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    status = subprocess.run([args.dvc, "status", "--json", str(args.dvc_yaml)], capture_output=True, text=True,
                            env=env)
    if status.returncode != 0:
        print(f"relock_code_changes: dvc status failed: {status.stderr.strip()}", file=sys.stderr)
        return 1
    changed = json.loads(status.stdout or "{}")
    params_file = (args.dvc_yaml.parent / "params.yaml").as_posix()
    ok = sorted(s for s, ch in changed.items() if code_only(ch, params_file, set(args.new_param)))
    left = sorted(set(changed) - set(ok))
    from dvc.repo import Repo

    with Repo(".") as repo:
        defined = {stage.name for stage in repo.stage.collect(str(args.dvc_yaml))}
    lock = args.dvc_yaml.with_name("dvc.lock")
    stale = stale_entries(lock, defined) if lock.exists() else []
    print(f"relock_code_changes: {len(ok)} stages with code-only changes, {len(left)} left to dvc repro, "
          f"{len(stale)} stale lock entries")
    for s in left:
        print(f"  left: {s}")
    if args.dry_run:
        return 0
    if stale:  # before the commit, which rewrites the lock
        data = yaml.safe_load(lock.read_text(encoding="utf-8"))
        for name in stale:
            del data["stages"][name]
        tmp = lock.with_suffix(".lock.tmp")
        tmp.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        os.replace(tmp, lock)
    if ok:
        subprocess.run([args.dvc, "commit", "--force", *ok], check=True, env=env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
