# The project's interface: CI runs `make test`; README documents every target.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Rasa 3.6 needs Python 3.10: pyenv's build if there is one, else python3.10 on the PATH.
PYTHON_310 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.10*/bin/python3.10) $(shell command -v python3.10 2>/dev/null) python3.10)
# The fine-tuning environment (PyTorch, used only by `make train`) needs Python 3.11.
PYTHON_311 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.11*/bin/python3.11) $(shell command -v python3.11 2>/dev/null) python3.11)
VENV := .venv
PY := $(VENV)/bin/python
FT_VENV := .venv-finetune
FT_PY := $(FT_VENV)/bin/python
RASA := $(PY) -m rasa
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONPATH := $(CURDIR)

RASA_DATA := $(shell find nlu_data -name '*.yml' -not -path 'nlu_data/outcomes/*' 2>/dev/null)
MODEL_STAMP := models/.trained
DATA ?= tests/data/outcomes_dev.yml
# The web chat's front-end files, from the npm registry (package-lock.json), served by our app.
VENDOR := bot/review/static/vendor
NHSUK := node_modules/nhsuk-frontend/dist/nhsuk

.PHONY: help install train migrate run serve review test lint evaluate agreement bench clean browser-deps web-assets

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml requirements.txt
	test -x $(PY) || $(PYTHON_310) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip<26" wheel
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	touch $@

$(FT_VENV)/.installed: requirements-finetune.txt
	test -x $(FT_PY) || $(PYTHON_311) -m venv $(FT_VENV)
	$(FT_PY) -m pip install --quiet --upgrade "pip<26"
	$(FT_PY) -m pip install --quiet -r requirements-finetune.txt
	$(FT_PY) -m pip check
	touch $@

install: $(VENV)/.installed $(FT_VENV)/.installed ## .venv (Python 3.10, the assistant) and .venv-finetune (3.11, PyTorch for training)

$(MODEL_STAMP): $(VENV)/.installed config.yml domain.yml $(RASA_DATA) bot/nlu/crisis_override.py bot/safety.py
	$(RASA) train --quiet --data nlu_data --domain domain.yml --config config.yml --out models --fixed-model-name outcomes-assistant
	touch $@

train: $(MODEL_STAMP) $(FT_VENV)/.installed ## train the Rasa model and the outcome extractor (each if stale)
	$(PY) -m bot train-outcomes

migrate: $(VENV)/.installed ## bring the outcomes database schema up to date
	$(PY) -m bot migrate

run: train migrate ## chat in this terminal, or on Telegram when TELEGRAM_BOT_TOKEN is set; REVIEW=1 also serves the review app
	@mkdir -p var/logs; \
	if [ -n "$(REVIEW)" ]; then \
	  $(PY) -m bot review $$([ -n "$$REVIEW_SECRET_KEY" ] || echo --dev) > var/logs/review.log 2>&1 & \
	  trap "kill $$! 2>/dev/null" EXIT; \
	  echo "Review app: http://127.0.0.1:8000 (log: var/logs/review.log)"; \
	fi; \
	if [ -n "$$TELEGRAM_BOT_TOKEN" ]; then $(PY) -m bot telegram; else $(PY) -m bot chat; fi

serve: train migrate web-assets ## Rasa (:5005), the action server (:5055) and the web app with the chat (http://127.0.0.1:8000/chat)
	$(PY) -m bot serve

review: migrate web-assets ## the practitioner review web app on http://127.0.0.1:8000 (REVIEW_DEV=1 for local use)
	$(PY) -m bot review $(if $(REVIEW_DEV),--dev,)

browser-deps: ## Debian's packages the tests use: headless Chromium + chromedriver; espeak-ng + ffmpeg make voice notes
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null && \
	  command -v espeak-ng >/dev/null && command -v ffmpeg >/dev/null || \
	  { apt-get update -qq && apt-get install -y -qq chromium chromium-driver espeak-ng ffmpeg >/dev/null; }

$(VENDOR)/.copied: package.json package-lock.json
	@command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq npm >/dev/null; }
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/nhsuk
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/
	cp -r $(NHSUK)/assets $(VENDOR)/nhsuk/
	@# No request may leave for a CDN: drop the remote web font (Arial is used instead).
	sed -E -e 's/@font-face\{[^}]*\}//g' -e 's#url\(/assets/#url(assets/#g' \
	  $(NHSUK)/nhsuk-frontend.min.css > $(VENDOR)/nhsuk/nhsuk-frontend.min.css
	! grep -q 'https\?://' $(VENDOR)/nhsuk/nhsuk-frontend.min.css
	touch $@

web-assets: $(VENDOR)/.copied ## the web chat's htmx and nhsuk-frontend (npm ci) into bot/review/static/vendor

lint: $(VENV)/.installed ## ruff
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: train migrate browser-deps web-assets ## validate the data, run pytest and Rasa's story tests
	$(RASA) data validate --data nlu_data --domain domain.yml --config config.yml
	$(PY) -m pytest -q
	$(RASA) test core --stories tests/stories --model models/outcomes-assistant.tar.gz --fail-on-prediction-errors --out var/results

bench: train migrate ## our assistant vs a plain `rasa init` one: latency, load, start-up, memory (not in CI)
	$(PY) bench/bench.py --out bench/results.json

evaluate: train ## score outcome extraction: make evaluate DATA=tests/data/outcomes_dev.yml
	$(PY) -m bot evaluate $(DATA)

READINGS := tests/data/readings
agreement: train ## how far independent readers, and the extractor, agree on 450 held-out statements
	$(PY) -m bot agreement --with-model $(READINGS)/writers.yml $(READINGS)/reader_c.yml $(READINGS)/reader_d.yml $(READINGS)/majority.yml

clean: ## remove trained models and local data (var/)
	rm -rf models var
