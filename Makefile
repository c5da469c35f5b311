# Two commands for a new user: `make run` and `make test`. Both set up what they need.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000
TEST_ENV := HF_HUB_OFFLINE=1 CATALOG_CLIP_MODEL=test-tiny

.PHONY: run test lint format bench install clean-data check-deploy compose-check

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch is pinned to the releases on this machine's disk (see README: GPU machines).
	$(PY) -m pip install --quiet "torch==2.14.1" "torchvision==0.29.1"
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	PORT=$(PORT) $(PY) -m config.run

test: $(STAMP)
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP)
	$(PY) bench/run_all.py $(BENCH_ARGS)

check-deploy: $(STAMP)
	DATABASE_URL=postgres://catalog@localhost/catalog REDIS_URL=redis://localhost:6379/0 \
	DJANGO_SECRET_KEY=$$(openssl rand -hex 40) DJANGO_ALLOWED_HOSTS=catalog.example.com \
	$(PY) manage.py check --deploy --fail-level WARNING

compose-check:
	docker-compose config --quiet && echo "docker-compose.yml: ok"

clean-data: $(STAMP)
	$(PY) -c "from pathlib import Path; from config import embedded; embedded.reset(Path('.data').resolve())"
