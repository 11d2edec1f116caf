# The two commands a newcomer needs: `make run` and `make test`.
# Both create .venv when missing and reinstall only when pyproject.toml changed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MODEL_DIR ?= /tmp/official_like/digits_mlp
EXPERIMENT ?= digits_mlp

.PHONY: setup run test bench clean
setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	$(PY) trainer_main.py --experiment=$(EXPERIMENT) --mode=train_and_eval --model_dir=$(MODEL_DIR)

test: $(STAMP)
	$(PY) -m pytest tests -q -p no:cacheprovider

bench: $(STAMP)
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info
