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

# The reference profile (reference/params.yaml): its own synthetic data, then every learned method with 5
# training seeds (fixed budgets, the best validation evaluation kept), every row predicted under every box
# protocol, RED's ablations with 3 seeds, the positive control, compare and the report (docs/reference_run.md).
# Its stages run at one thread each, on two workers (scripts/dvc_queues.py --jobs 2): a free worker takes the
# first stage below whose upstream stages are done, the long trainings first, the predictions as their models
# are ready; the final `dvc repro` compares and reports. Every training resumes after an interruption
# (`--resume`); `make reference` again continues where it stopped. reference/timings.csv gets each stage's wall
# time, run after run (an interrupted stage is marked).
SEEDS := 0 1 2 3 4
REFERENCE_TRAIN := $(foreach s,$(SEEDS),train_red@red-$(s) train_red@red_static-$(s)) ablations train_heatmap \
	train_cnn_regression train_ert train_sdm train_mean_shape
REFERENCE_PREDICT := $(shell sed -n 's/^  \(predict_[a-z_]*\):$$/\1/p' reference/dvc.yaml)
REFERENCE_STAGES := $(addprefix reference/dvc.yaml:,$(REFERENCE_TRAIN) $(REFERENCE_PREDICT) control)
reference: setup
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dvc repro reference/dvc.yaml:preprocess
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python scripts/dvc_queues.py --dvc $(BIN)/dvc \
		--timings reference/timings.csv --jobs 2 --stages "$(REFERENCE_STAGES)"
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/dvc repro reference/dvc.yaml

test: setup
	$(BIN)/pytest -q

bench: setup
	$(BIN)/pytest -q --benchmark-only --benchmark-enable tests
