# The two commands of README.md:  `make book`  and  `make test`.
# Everything runs inside .venv, which the first command creates and fills.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NBVAL  := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider

.PHONY: book pages stored-site test unit nbval site execute lab bench clean

$(STAMP): requirements.txt constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -r requirements.txt -c constraints.txt -e .
	touch $(STAMP)

## make book: execute every notebook and build the site into _build/html (fails on any cell error or Sphinx warning)
book: $(STAMP) pages
	$(BIN)/jupyter-book build . -W -n --keep-going

# The checks and generated files every build needs, executed or not.
pages: $(STAMP)
	rm -rf _build/html _build/.doctrees
	$(BIN)/python book/_ext/claims.py --check   # book/claims.md must match the chapters' tables
	$(BIN)/python book/_ext/flashcards.py       # the question bank as an Anki deck and a CSV (book/flashcards/)
	$(BIN)/python book/_ext/sources.py --check  # book/sources/*.md must match the notes in sources/
	$(BIN)/python book/_ext/ledger.py --check   # the seed ledger is sound; book/ledger.md matches it

# The site from the outputs stored in the notebooks, which `make nbval` has just re-executed and
# compared: `make test` executes every notebook once, not twice. `make book` executes them all.
STORED := _config_stored.yml
stored-site: $(STAMP) pages
	$(BIN)/python -c "import yaml; c = yaml.safe_load(open('_config.yml', encoding='utf-8')); \
	  c['execute']['execute_notebooks'] = 'off'; yaml.safe_dump(c, open('$(STORED)', 'w', encoding='utf-8'), allow_unicode=True)"
	$(BIN)/jupyter-book build . -W -n --keep-going --config $(STORED)
	rm -f $(STORED)
	touch _build/html/.stored-outputs

## make test: unit tests, nbval over every notebook, then the site (built from the outputs nbval checked) in a headless browser
test: unit nbval site

unit: $(STAMP)
	$(BIN)/python -m pytest tests --ignore=tests/site

nbval: $(STAMP)
	$(BIN)/python -m pytest $(NBVAL) notebooks

site: stored-site
	@if [ ! -d .cache/mathjax/node_modules/mathjax ]; then \
	  if command -v npm >/dev/null 2>&1; then npm install --silent --no-save --no-package-lock --prefix .cache/mathjax mathjax@3; \
	  else echo "npm not found: the site test will load MathJax from its CDN"; fi; fi
	$(BIN)/python -m pytest tests/site

## make execute NB=notebooks/07_gradients.ipynb: re-run one notebook and store its outputs
execute: $(STAMP)
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=600 $(NB)

## make lab: open the book's notebooks (chapters and drills) in JupyterLab
lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir=$(CURDIR)/notebooks

## make bench: wall time of every notebook
bench: $(STAMP)
	$(BIN)/python benchmarks/notebook_times.py

clean:
	rm -rf _build .jupyter_cache
