"""Defects found in review of issue 4: the annotate line contract, knowledge-base matches in
ordinary text, a missing knowledge-base folder."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from spacy.language import Language

import nlp.factories  # noqa: F401  (registers our components)
from nlp.kb import load_kb
from tests.nlp_rules import KB, rules_pipeline, run

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pipeline() -> Language:
    return rules_pipeline()


def test_an_article_left_of_a_kb_match_is_no_entity(pipeline: Language) -> None:
    # the model's "La Fiscalía de la Nación" used to leave a place entity "La"
    doc = run(pipeline, "[La Fiscalía de la Nación](LOC) investiga a [El Poder Judicial](ORG).")
    assert [(e.text, e._.entity_id) for e in doc.ents] == [
        ("Fiscalía de la Nación", "institution:ministerio-publico"),
        ("Poder Judicial", "institution:poder-judicial"),
    ]


@pytest.mark.parametrize("text", [
    "La [Policía Nacional de Colombia](ORG) capturó a tres.",
    "El [Congreso de Chile](ORG) aprobó la ley.",
    "El [Ministerio Público del Ecuador](ORG) acusó a tres.",
    "La [Policía Nacional](ORG) colombiana capturó a tres.",
])
def test_a_foreign_institution_is_not_the_peruvian_one(pipeline: Language, text: str) -> None:
    doc = run(pipeline, text)
    assert not [e for e in doc.ents if (e._.entity_id or "").startswith("institution:")]


def test_peruvian_institutions_still_match_before_de(pipeline: Language) -> None:
    doc = run(pipeline, "La Policía Nacional de Lima y el Congreso de la República.")
    assert [e._.entity_id for e in doc.ents] == [
        "institution:policia-nacional-del-peru", "institution:congreso-de-la-republica"]


def test_a_missing_kb_folder_is_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # `kb` is relative (config/kb): run from another folder, the gazetteer silently went off
    with caplog.at_level(logging.INFO):
        assert len(load_kb(tmp_path / "nowhere")) == 0
    assert [r.levelno for r in caplog.records if "nowhere" in r.getMessage()] == [
        logging.WARNING]


@pytest.mark.model
def test_annotate_splits_lines_on_newlines_only(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(KB, kb)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PESQUISA_")}
    env = {**clean, "PESQUISA_DATA_DIR": str(tmp_path / "data"), "PESQUISA_KB": str(kb)}
    lines = ["Dina Boluarte habló\rcon la PNP.", "La PNP detuvo a tres.", "", "Lima 🙂 PNP."]
    path = tmp_path / "notas.txt"
    path.write_bytes("\r\n".join(lines).encode("utf-8") + b"\r\n")
    for source, stdin in ((str(path), None), ("-", path.read_bytes())):
        result = subprocess.run([sys.executable, "-m", "pesquisa", "annotate", "--json", source],
                                env=env, cwd=REPO, capture_output=True, timeout=300,
                                input=stdin, check=False)
        assert result.returncode == 0, result.stderr
        out = [json.loads(line) for line in result.stdout.decode("utf-8").split("\n")[:-1]]
        assert len(out) == len(lines)
        for line, annotation in zip(lines, out, strict=True):
            for entity in annotation["entities"]:
                assert line[entity["start"]:entity["end"]] == entity["text"]
        assert any(e["text"] == "PNP" for e in out[0]["entities"])
        assert any(e["text"] == "PNP" for e in out[3]["entities"])
