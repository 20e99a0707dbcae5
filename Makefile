# The two commands of the README:
#   make demo   set up .venv (mmcv-lite + torchvision-backed ops, a few minutes) and train the contrast demo model
#   make test   set up .venv and run the whole test suite
# CL_DENSE_MMCV=full make ...  uses mmcv compiled from its sdist instead (~15-20 min the first time)
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_CONFIG ?= configs/demo/pixcontrast-mem_fcn_r18-tiny-d8_1xb8-600it_synthetic-shapes-96x96.py
PYTEST_ARGS ?=
CL_DENSE_MMCV ?= lite
export CL_DENSE_MMCV
STAMP := $(VENV)/.cl_dense-setup-done-$(CL_DENSE_MMCV)

.PHONY: setup demo test clean-venv
setup: $(STAMP)

$(STAMP): setup.py tools/setup_env.sh
	PYTHON=$(PYTHON) VENV=$(VENV) bash tools/setup_env.sh
	rm -f $(VENV)/.cl_dense-setup-done-*
	touch $@

demo: setup
	$(PY) tools/train.py $(DEMO_CONFIG) --work-dir work_dirs/demo

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
