# The two commands of the README:
#   make demo   set up .venv (first time: builds mmcv, ~15 min) and train the contrast demo model
#   make test   set up .venv and run the whole test suite
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_CONFIG ?= configs/demo/pixcontrast-mem_fcn_r18-tiny-d8_1xb8-600it_synthetic-shapes-96x96.py
PYTEST_ARGS ?=

.PHONY: setup demo test clean-venv
setup: $(VENV)/.cl_dense-setup-done

$(VENV)/.cl_dense-setup-done: setup.py tools/setup_env.sh
	PYTHON=$(PYTHON) VENV=$(VENV) bash tools/setup_env.sh
	touch $@

demo: setup
	$(PY) tools/train.py $(DEMO_CONFIG) --work-dir work_dirs/demo

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
