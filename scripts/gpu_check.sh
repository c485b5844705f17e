#!/usr/bin/env bash
# RED's GPU check in one command (docs/gpu.md):
#   bash scripts/gpu_check.sh [OUT_DIR] [options of scripts/gpu_check.py, e.g. --steps 300 --time-budget 400]
# Finds the machine's Python ($PYTHON, else /opt/torch/.venv/bin/python, else python3) and makes this checkout
# importable without touching that Python's torch: `pip install --no-deps --no-build-isolation -e .`, or, where pip
# or setuptools are missing, a folder of links that maps redbench.{datasets,red,baselines,benchmark} onto the
# checkout (put on PYTHONPATH). Then runs scripts/gpu_check.py and leaves OUT_DIR/gpu_check.json and
# OUT_DIR/gpu_check.log (OUT_DIR: the first argument, else $OUT, else ./gpu_check_out). Carried wheels
# (scripts/gpu_wheels/) of packages this Python lacks are unpacked into a temporary folder on PYTHONPATH.
# GPU_CHECK_INSTALL=auto (default: nothing to do when redbench already imports from this checkout) | pip | shim | none
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${OUT:-./gpu_check_out}
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then out=$1; shift; fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
py=${PYTHON:-}
if [ -z "$py" ]; then
  if [ -x /opt/torch/.venv/bin/python ]; then py=/opt/torch/.venv/bin/python; else py=$(command -v python3); fi
fi
case $py in /*) ;; */*) py="$PWD/$py" ;; *) py=$(command -v "$py") ;; esac  # absolute: pyrun leaves this folder
mode=${GPU_CHECK_INSTALL:-auto}
wheels=${GPU_CHECK_WHEELS:-$repo/scripts/gpu_wheels}  # packages the machine may lack (scripts/_gpu_wheels.py)
case $mode in auto | pip | shim | none) ;;
  *) echo "gpu_check.sh: GPU_CHECK_INSTALL must be auto, pip, shim or none, not '$mode'" >&2; exit 2 ;;
esac

# Run Python from / so that a checkout in the current folder cannot shadow the installed package.
pyrun() { (cd / && "$py" "$@"); }
torch_id() { pyrun -c "import torch; print(torch.__version__, torch.__file__)"; }
imports_from_repo() {
  pyrun -c "import sys, redbench.red.model as m; sys.exit(0 if m.__file__.startswith(sys.argv[1]) else 1)" \
    "$repo/" >/dev/null 2>&1
}
install_pip() {
  if pyrun -m pip install --no-deps --no-build-isolation -q -e "$repo" >"$out/install.log" 2>&1; then
    echo "gpu_check.sh: installed $repo with pip (--no-deps --no-build-isolation -e)"
  else
    echo "gpu_check.sh: pip install failed (last lines of $out/install.log):" >&2
    tail -n 5 "$out/install.log" >&2
    return 1
  fi
}
install_shim() {
  local shim
  shim=$(mktemp -d "${TMPDIR:-/tmp}/redbench_shim.XXXXXX")
  mkdir "$shim/redbench"
  for f in "$repo"/redbench/*; do ln -s "$f" "$shim/redbench/"; done
  for p in datasets red baselines benchmark; do ln -s "$repo/$p" "$shim/redbench/$p"; done
  export PYTHONPATH="$shim${PYTHONPATH:+:$PYTHONPATH}"
  echo "gpu_check.sh: redbench from links in $shim (on PYTHONPATH)"
}

if ! before=$(torch_id); then
  echo "gpu_check.sh: $py cannot import torch; set PYTHON to the Python of the machine's PyTorch" >&2
  exit 2
fi
case $mode in
  auto) if imports_from_repo; then echo "gpu_check.sh: redbench already imports from $repo"
        else install_pip || install_shim; fi ;;
  pip) install_pip ;;
  shim) install_shim ;;
  none) ;;
esac
carry_wheels() {
  local site added
  [ -d "$wheels" ] || return 0
  site=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check_site.XXXXXX")
  added=$(pyrun "$repo/scripts/_gpu_wheels.py" "$wheels" "$site")
  if [ -n "$added" ]; then
    export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
    echo "gpu_check.sh: carried wheels unpacked in $site for:" $added
  else
    rmdir "$site"
  fi
}
carry_wheels
after=$(torch_id)
if [ "$before" != "$after" ]; then
  echo "gpu_check.sh: the install changed torch ($before -> $after)" >&2
  exit 3
fi
pyrun -c "import redbench.red.model, redbench.datasets.fake; print('gpu_check.sh: python $py, torch', \
'$after'.split()[0] + ', redbench.red from', redbench.red.model.__file__)"

set +e
"$py" "$repo/scripts/gpu_check.py" --out "$out" "$@" 2>&1 | tee "$out/gpu_check.log"
exit "${PIPESTATUS[0]}"
