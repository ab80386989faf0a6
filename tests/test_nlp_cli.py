"""The NLP commands: `annotate` (the JSON contract), `entities`, `reprocess` (model-backed)."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from indexer import open_index
from pesquisa.ids import canonical_url, document_id
from pesquisa.settings import load_settings
from pesquisa.store import INDEXED, Mention, NewDocument, Store

REPO = Path(__file__).resolve().parent.parent
KB = REPO / "tests" / "data" / "kb"
ENTITY_KEYS = {"start", "end", "text", "label", "kind", "canonical", "entity_id", "role"}

LINES = [
    "La fiscal de la Nación Delia Espinoza denunció a Dina Boluarte por colusión.",
    "",
    "   ",
    "Según «Perú21» 🙂, el Tren de Aragua cobra cupos en Lima y la PNP detuvo a tres; "
    "expediente 00012-2023-1-5001-JR-PE-01.",
]

ARTICLES = [
    "La SUCAMEC decomisó armas en Trujillo. La Policía Nacional del Perú apoyó el operativo.",
    "Dina Boluarte viajó a Piura. La SUCAMEC informó del decomiso de cien fusiles.",
    "El Poder Judicial dictó prisión preventiva contra tres extorsionadores en Lima.",
]


def run(env: dict[str, str], *args: str, input: str | None = None,
        **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pesquisa", *args], env=env, cwd=REPO,
                          text=True, capture_output=True, timeout=300, input=input,
                          check=False, **kwargs)  # type: ignore[call-overload]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    kb = tmp_path / "kb"
    shutil.copytree(KB, kb)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PESQUISA_")}
    return {**clean, "PESQUISA_DATA_DIR": str(tmp_path / "data"), "PESQUISA_KB": str(kb)}


def store_articles(env: dict[str, str]) -> Path:
    settings = load_settings(environ=env)
    with Store(settings.store_path) as store:
        for i, text in enumerate(ARTICLES):
            url = f"https://ejemplo.pe/nota/{i}"
            store.save_document(NewDocument(
                url=url, canonical_url=canonical_url(url), id=document_id(url), source="demo",
                title=f"Nota {i}", text=text, published=f"2026-03-0{i + 1}"))
    return settings.store_path


# -- annotate --------------------------------------------------------------------------------


@pytest.mark.model
def test_annotate_json_gives_one_line_per_input_line_with_offsets_into_it(
    env: dict[str, str],
) -> None:
    result = run(env, "annotate", "--json", "-", input="\n".join(LINES) + "\n")
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == len(LINES)
    for line, annotation in zip(LINES, out, strict=True):
        assert set(annotation) == {"entities", "crime_types", "case_numbers"}
        for entity in annotation["entities"]:
            assert set(entity) == ENTITY_KEYS
            assert line[entity["start"]:entity["end"]] == entity["text"]
    assert out[1] == out[2] == {"entities": [], "crime_types": [], "case_numbers": []}
    ids = {e["entity_id"] for annotation in out for e in annotation["entities"]}
    assert {"official:dina-boluarte", "crime_group:tren-de-aragua"} <= ids
    assert any(e["text"] == "Tren de Aragua" for e in out[3]["entities"])  # after the emoji
    assert any(c["normalized"] == "00012-2023-1-5001-JR-PE-01" for c in out[3]["case_numbers"])


@pytest.mark.model
def test_annotate_reads_a_file_and_prints_a_table(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "notas.txt"
    path.write_text("\n".join(LINES), encoding="utf-8")  # no newline at the end
    result = run(env, "annotate", str(path))
    assert result.returncode == 0, result.stderr
    assert "line 4: " in result.stdout and "line 5" not in result.stdout
    assert "crime_group:tren-de-aragua" in result.stdout


@pytest.mark.parametrize("kind", ["missing", "directory", "latin-1"])
def test_annotate_a_bad_file_is_one_line(env: dict[str, str], tmp_path: Path, kind: str) -> None:
    path = tmp_path / "input"
    if kind == "directory":
        path.mkdir()
    elif kind == "latin-1":
        path.write_bytes("Fiscalía de la Nación\n".encode("latin-1"))
    result = run(env, "annotate", "--json", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("pesquisa: error: [E410] cannot read")
    assert len(result.stderr.splitlines()) == 1


# -- entities --------------------------------------------------------------------------------


def test_entities_lists_mention_and_document_counts(env: dict[str, str]) -> None:
    path = store_articles(env)
    with Store(path) as store:
        first, second = store.pending("fetched", 2)
        pnp = Mention(entity_id="institution:policia-nacional-del-peru",
                      name="Policía Nacional del Perú", label="ORG", kind="institution",
                      start=0, end=3, text="PNP", sentence="...", source="kb")
        dina = Mention(entity_id="official:dina-boluarte", name="Dina Boluarte", label="PER",
                       kind="official", start=0, end=13, text="Dina Boluarte", sentence="...",
                       role="presidenta de la República")
        store.save_annotations(first, [pnp, pnp, dina])
        store.save_annotations(second, [pnp])

    listed = json.loads(run(env, "entities", "--json").stdout)
    assert [(e["id"], e["mentions"], e["documents"]) for e in listed] == [
        ("institution:policia-nacional-del-peru", 3, 2), ("official:dina-boluarte", 1, 1)]
    assert set(listed[0]) == {"id", "name", "label", "kind", "mentions", "documents"}
    officials = json.loads(run(env, "entities", "--kind", "official", "--json").stdout)
    assert [e["id"] for e in officials] == ["official:dina-boluarte"]
    assert len(json.loads(run(env, "entities", "--limit", "1", "--json").stdout)) == 1

    table = run(env, "entities").stdout.splitlines()
    assert table[0].split() == ["mentions", "docs", "kind", "name", "id"]
    assert table[1].split()[:3] == ["3", "2", "institution"]
    bad = run(env, "entities", "--kind", "politician")
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1


def test_entities_without_a_store_says_so(env: dict[str, str]) -> None:
    result = run(env, "entities")
    assert result.returncode == 1 and "[E604]" in result.stderr


# -- reprocess -------------------------------------------------------------------------------


def _run_on_a_terminal(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run with stderr on a pseudo-terminal (so that the progress bar draws)."""
    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        proc = subprocess.run([sys.executable, "-m", "pesquisa", *args], env=env, cwd=REPO,
                              stdout=subprocess.PIPE, stderr=slave, text=True, timeout=300,
                              check=False)
    finally:
        os.close(slave)
        reader.join(timeout=10)
        os.close(master)
    return proc.returncode, proc.stdout, b"".join(chunks).decode("utf-8", "replace")


def _indexed_with(env: dict[str, str], entity_id: str) -> int:
    """How many indexed documents the index finds by an entity id (near-duplicates too)."""
    index = open_index(load_settings(environ=env), create=False)
    try:
        hits = index.search(f'entity:"{entity_id}"', limit=100).hits
    finally:
        index.close()
    return sum(1 + hit.duplicates for hit in hits)


@pytest.mark.model
def test_reprocess_reannotates_and_reindexes_after_a_kb_change(
    env: dict[str, str], tmp_path: Path
) -> None:
    path = store_articles(env)
    first = run(env, "process")
    assert first.returncode == 0, first.stderr
    sucamec = "institution:sucamec"
    assert _indexed_with(env, sucamec) == 0

    with (tmp_path / "kb" / "institutions.yml").open("a", encoding="utf-8") as kb:
        kb.write("- name: Superintendencia Nacional de Control de Servicios de Seguridad, "
                 "Armas, Municiones y Explosivos de Uso Civil\n"
                 "  id: sucamec\n  acronyms: [SUCAMEC]\n  type: oversight\n")
    code, out, err = _run_on_a_terminal(env, "reprocess")
    assert code == 0, err
    assert "reprocessing" in err and "3/3" in err  # the bar, drawn on the terminal
    assert out.strip() == "done: 3 annotated, 3 indexed, 0 failed"

    listed = {e["id"]: e for e in json.loads(run(env, "entities", "--json").stdout)}
    assert listed[sucamec]["mentions"] == 2 and listed[sucamec]["documents"] == 2
    assert listed[sucamec]["kind"] == "institution"
    assert _indexed_with(env, sucamec) == 2
    with Store(path) as store:
        assert store.counts() == {INDEXED: 3}

    # killed half-way: what is still queued is finished by --resume, nothing else redone
    with Store(path) as store:
        store.mark([document_id("https://ejemplo.pe/nota/1")], "fetched")
    resumed = run(env, "reprocess", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip() == "done: 1 annotated, 1 indexed, 0 failed"
    assert "reprocessing" in resumed.stderr  # not a terminal: the label, no bar


def test_reprocess_refuses_while_another_worker_holds_the_data_dir(env: dict[str, str]) -> None:
    path = store_articles(env)
    with Store(path) as store:
        for doc in store.pending("fetched", 10):
            store.save_annotations(doc, [])
        store.mark_indexed(store.pending("annotated", 10))
    lock = Path(env["PESQUISA_DATA_DIR"]) / "worker.lock"
    with lock.open("a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = run(env, "reprocess")
    assert result.returncode == 3
    assert result.stderr.startswith("pesquisa: error: [E606]")
    assert len(result.stderr.splitlines()) == 1
    with Store(path) as store:
        assert store.counts() == {INDEXED: 3}  # nothing was queued again


def test_reprocess_without_a_store_says_so(env: dict[str, str]) -> None:
    result = run(env, "reprocess")
    assert result.returncode == 1 and "[E604]" in result.stderr
