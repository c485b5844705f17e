# The two quick-start commands: `make repro` (set up, then run the pipeline) and `make test`.
# The CPU set-up installs torch==2.13.0 first (a CPU wheel); pyproject keeps a range so GPU users get CUDA.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export DVC_NO_ANALYTICS := 1

.PHONY: setup repro reference test bench ci-e2e

setup: $(VENV)/.installed

# constraints.txt: the exact versions the default run was measured with (docs/reproducibility.md).
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@

# The stages call `redbench`, so the venv's bin goes first on PATH (no activation needed).
repro: setup
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dvc repro

# The reference profile (reference/params.yaml): the default pipeline's shards, then every learned method to a
# validation plateau, RED's ablations, predictions, compare and the report. Its trainings run at one thread
# each and sum to about 3.5 hours; scripts/dvc_queues.py runs them in two queues side by side (balanced by the
# committed run's wall seconds, docs/reference_run.md), about 1.75 hours on 2 cores; the final `dvc repro` does the rest.
REFERENCE_QUEUE_A := ablations train@red train@red_static train@heatmap
REFERENCE_QUEUE_B := train_seeds@red_static-2 train_seeds@red-2 train_seeds@red_static-1 train_seeds@red-1 \
	train@cnn_regression train@sdm train@ert train@mean_shape
reference: setup
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dvc repro preprocess
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python scripts/dvc_queues.py --dvc $(BIN)/dvc \
		--queue "$(addprefix reference/dvc.yaml:,$(REFERENCE_QUEUE_A))" \
		--queue "$(addprefix reference/dvc.yaml:,$(REFERENCE_QUEUE_B))"
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dvc repro reference/dvc.yaml

test: setup
	$(BIN)/pytest -q

bench: setup
	$(BIN)/pytest -q --benchmark-only --benchmark-enable tests
