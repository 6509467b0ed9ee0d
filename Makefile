# ABAH SMS Center. The README's two commands: `make run` and `make test`.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON_PREFERENCE := only-system
PYTHON_VERSION := $(shell cat .python-version)
UV := $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
RUN_ENV := DEBUG=1
MANAGE := .venv/bin/python manage.py
# Where `make run` listens: `make run PORT=8080 HOST=0.0.0.0` (serve prints the URL it really listens on);
# only the command line sets them (an exported PORT or HOST in the shell does not).
HOST := 127.0.0.1
PORT := 8000

.PHONY: install run test test-sqlite test-postgres lint bench faults messages clean

# Install uv (with pip) when missing, then Python and dependencies from uv.lock.
install:
	@if [ ! -x "$(UV)" ]; then \
		echo "installing uv with pip …"; \
		(python$(PYTHON_VERSION) -m pip install --user --quiet uv || python3 -m pip install --user --quiet uv); \
	fi
	@$(UV) sync --frozen --quiet
	@DEBUG=1 $(MANAGE) compilemessages --ignore=.venv -v 0

run: install
	@$(RUN_ENV) $(MANAGE) migrate --no-input -v 0
	@$(RUN_ENV) $(MANAGE) seed_demo
	@$(RUN_ENV) exec $(MANAGE) serve --host "$(HOST)" --port "$(PORT)"

test: install
	@.venv/bin/python -m tests.components
	@DEBUG=1 .venv/bin/python -m pytest $(PYTEST_ARGS)

lint: install
	@.venv/bin/ruff check .
	@DEBUG=1 $(MANAGE) makemigrations --check --dry-run

bench: install
	@DEBUG=1 .venv/bin/python -m bench $(BENCH_ARGS)

# The fault suite at full size (10,000 messages per run) on SQLite and PostgreSQL: one line of figures per fault.
faults: install
	@DEBUG=1 .venv/bin/python -m tests.faults $(FAULTS_ARGS)

# Regenerate the translation catalogues from the sources (then translate the new entries).
messages: install
	@DEBUG=1 $(MANAGE) makemessages -l id --ignore=.venv --ignore=var --ignore=bench --no-obsolete

clean:
	rm -rf .venv var test-artifacts .pytest_cache .ruff_cache
