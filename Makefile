# Two commands for a newcomer (see README):  make figures   |   make test
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
TIER    ?= cpu
JOBS    ?= 1
ONLY    ?=
ARGS    ?=

.PHONY: install data book-deps book figures smoke test test-portable clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	-$(BIN)/pip install --upgrade pip >/dev/null  # best effort: an older pip also works

# Editable install with the dev extra; the stamp re-runs it when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e ".[dev]"
	touch $@

# Fashion-MNIST, the embedded default data set, from Debian's package where apt exists.
# Elsewhere the loader falls back to torchvision's download (needs a network once).
data:
	@if [ -d /usr/share/datasets/fashion-mnist ]; then echo "fashion-mnist: present"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; \
	elif command -v sudo >/dev/null 2>&1; then \
	  sudo apt-get update -qq && sudo apt-get install -y -qq dataset-fashion-mnist; \
	else echo "fashion-mnist: no apt; tvclab.data will use torchvision's download"; fi

install: $(VENV)/.installed data

# The book's system parts from Debian: MathJax (math rendered offline, copied into the site) and chromium (the
# headless-browser test). Elsewhere: install them by hand (see README, "The book").
book-deps:
	@if [ -e /usr/share/javascript/mathjax/MathJax.js ] && command -v chromium >/dev/null 2>&1; then \
	  echo "book deps (libjs-mathjax, chromium): present"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && apt-get install -y -qq libjs-mathjax chromium; \
	elif command -v sudo >/dev/null 2>&1; then \
	  sudo apt-get update -qq && sudo apt-get install -y -qq libjs-mathjax chromium; \
	else echo "book deps: no apt; install MathJax 2 at /usr/share/javascript/mathjax and chromium"; fi

# A static site of every notebook with its committed outputs (nothing executed, nothing fetched).
book: install book-deps
	$(BIN)/sphinx-build -b html -q book book/_build/html
	@echo "open book/_build/html/index.html"

figures: install
	$(BIN)/python -m tvclab.figures --tier $(TIER) --jobs $(JOBS) $(if $(ONLY),--only $(ONLY)) $(ARGS)

smoke: install
	$(BIN)/python -m tvclab.figures --tier smoke --out-root runs/smoke/figures
	@echo "smoke outputs: runs/smoke/figures (ignored by git, like every run under runs/)"

test: install book-deps
	$(BIN)/python -m pytest -q

# The unit tests again (not the notebook smoke runs and torchrun: -m "not slow") as another CPU would run them: MKL's
# conditional-numerical-reproducibility mode and ATen's baseline kernels instead of this CPU's AVX-512/AVX2 paths,
# and the tests in a shuffled order (pytest-random-order; the seed is printed, rerun one with SEED=N).
SEED ?= $(shell git rev-parse --short=7 HEAD 2>/dev/null | xargs -I{} printf '%d' 0x{} 2>/dev/null || echo 1)
# torch.compile's kernel caches are keyed without ATen's capability: the portable pass keeps its own, or it would
# reuse this CPU's vectorised kernels under the baseline headers (a C++ compile error, not a portability finding).
test-portable: install
	TORCHINDUCTOR_CACHE_DIR=$(CURDIR)/build/inductor-portable MKL_CBWR=COMPATIBLE ATEN_CPU_CAPABILITY=default \
	  $(BIN)/python -m pytest -q -m "not slow" \
	  -p random_order --random-order-bucket=global --random-order-seed=$(SEED)

clean:
	rm -rf $(VENV) lib/*.egg-info
