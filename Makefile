# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOUSEHOLDS ?= 3000
STAMP := $(VENV)/.installed

.PHONY: run test install demo lint bench bench-generate messages clean worker beat

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py generate_county --households $(HOUSEHOLDS) --if-empty
	$(PY) manage.py demo_cases
	@# the periodic tasks once, so the first look has system clues, notifications, run records and the dashboard's figures
	@for task in risk_review deadline_watch visit_watch measure_watch year_end_assessment household_scores dashboard_figures; do \
		$(PY) manage.py run_task $$task > /dev/null || exit 1; done

run: demo
	$(PY) manage.py demo_logins
	$(PY) manage.py runserver 127.0.0.1:8000

test: install
	$(PY) -m pytest -n auto -q

lint: install
	$(VENV)/bin/ruff check .

messages: install
	$(PY) manage.py makemessages -l en --ignore=.venv --ignore=tests
	$(PY) manage.py compilemessages --ignore=.venv

# Production-style periodic tasks: set CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0) first.
worker: install
	$(VENV)/bin/celery -A config worker -l info -Q interactive,periodic,bulk,email

beat: install
	$(VENV)/bin/celery -A config beat -l info

bench: install
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
