# Two set-up commands: `make demo` and `make test`. Everything they need they install themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO_START := 2026-12-07
DEMO_OUT   := demo-output
WEB_OUT    := $(DEMO_OUT)/web
WEB_PORT   ?= 8080

.PHONY: demo web screenshots test bench samples system-deps clean lint constraints docs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installed (editable) with the test extras; re-run when the metadata changes.
# Exact versions from constraints.txt, so tests and samples agree on every fresh machine.
$(VENV)/.installed: setup.cfg pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/picture-schedule schedule --start $(DEMO_START)
	$(BIN)/python scripts/make_samples.py --out $(DEMO_OUT) --quiet
	@echo
	@echo "Example outputs for a course starting $(DEMO_START) are in $(CURDIR)/$(DEMO_OUT)/"
	@ls $(DEMO_OUT)
	@echo
	@$(BIN)/python scripts/web_demo.py --out $(WEB_OUT) --port $(WEB_PORT)
	@echo "('make web' runs that command.)"

# The web page on the demo roster (built by `make demo`, whose output shows the demo passwords).
web: $(VENV)/.installed
	@test -f $(WEB_OUT)/roster.sqlite3 || $(BIN)/python scripts/web_demo.py --out $(WEB_OUT) --port $(WEB_PORT)
	@echo "Demo accounts: viewer, nurse, coordinator (passwords: printed when the demo roster was built; 'make demo' makes new ones)"
	$(BIN)/picture-schedule web --db $(WEB_OUT)/roster.sqlite3 --site $(WEB_OUT)/site-nanjing.toml --port $(WEB_PORT) --base-url http://127.0.0.1:$(WEB_PORT)

# System packages and the Node module the tests use (Chromium, CJK fonts, poppler, ical.js).
# As root they are installed; otherwise the tests that need them skip with a visible reason.
system-deps:
	@bash scripts/system-deps

test: $(VENV)/.installed system-deps
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed
	$(BIN)/python bench/run.py

samples: $(VENV)/.installed
	$(BIN)/python scripts/make_samples.py --out samples

# Screenshots of the web page (samples/web-*.png, both languages) from the demo roster on a fixed
# date, taken in Debian's Chromium; look at them before committing.
screenshots: $(VENV)/.installed system-deps
	$(BIN)/python scripts/web_screenshots.py --out samples --docs docs/images

lint: $(VENV)/.installed
	$(BIN)/python -m mypy

# The documentation site: regenerate the CLI and site-file references, then build docs/ into site/.
docs: $(VENV)/.installed
	$(BIN)/python scripts/gen_docs.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) build dist *.egg-info $(DEMO_OUT) tests/js/node_modules site

# Re-pin every dependency (run after changing setup.cfg; review the diff, then `make samples`).
constraints:
	rm -rf .venv-pin
	$(PYTHON) -m venv .venv-pin
	.venv-pin/bin/python -m pip install --quiet --upgrade pip
	.venv-pin/bin/python -m pip install --quiet '.[test]'
	{ echo "# Exact versions that make demo/test/samples install: regenerate with 'make constraints'."; \
	  .venv-pin/bin/python -m pip freeze --exclude-editable | grep -iv '^picture-schedule' ; } > constraints.txt
	rm -rf .venv-pin
