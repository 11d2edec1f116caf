# The two commands a newcomer needs: `make run` and `make test`.
# Both create .venv when missing and reinstall only when pyproject.toml or the
# lock (the tested version of every package) changed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MODEL_DIR ?= /tmp/official_like/digits_mlp
EXPERIMENT ?= digits_mlp

.PHONY: setup run test bench clean
setup: $(STAMP)

$(STAMP): pyproject.toml requirements_lock.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements_lock.txt -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	$(PY) trainer_main.py --experiment=$(EXPERIMENT) --mode=train_and_eval --model_dir=$(MODEL_DIR)

test: $(STAMP)
	$(PY) -m pytest tests -q -p no:cacheprovider

bench: $(STAMP)
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info

# `bazel test //...` offline with Debian's Bazel 4 (README.md, "Bazel"): installs
# bazel-bootstrap when there is no bazel; the targets run on $(VENV).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
.PHONY: bazel-test
bazel-test: $(STAMP)
	@command -v bazel >/dev/null || { $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q bazel-bootstrap; }
	bazel test //...
