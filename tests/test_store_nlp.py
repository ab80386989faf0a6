"""The store's NLP tables (migration 4): roles, crime types, case numbers, entity counts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pesquisa.ids import canonical_url, document_id
from pesquisa.store import ANNOTATED, FETCHED, MIGRATIONS, Mention, NewDocument, Store


def new_doc(url: str, text: str = "El fiscal investiga un caso de extorsión.") -> NewDocument:
    return NewDocument(url=url, canonical_url=canonical_url(url), id=document_id(url),
                       source="demo", title="Título", text=text,
                       published="2026-03-02T10:00:00-05:00")


def mention(entity: str, name: str, kind: str = "person", start: int = 0,
            role: str | None = None, source: str | None = "model") -> Mention:
    label = "PER" if kind in ("person", "official") else "ORG"
    return Mention(entity_id=entity, name=name, label=label, kind=kind, start=start,
                   end=start + len(name), text=name, sentence="...", role=role, source=source)


def test_a_version_3_store_upgrades_and_keeps_its_mentions(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    db = sqlite3.connect(path, isolation_level=None)
    for script in MIGRATIONS[:3]:
        db.executescript(script)
    db.execute("PRAGMA user_version = 3")
    db.execute(
        "INSERT INTO documents (id, url, canonical_url, source, fetched_at, text, content_hash,"
        " status, updated_at) VALUES ('d1', 'u', 'u', 's', 't', 'texto', 'h', 'indexed', 't')")
    db.execute("INSERT INTO entities VALUES ('person:ana', 'PER', 'person', 'Ana')")
    db.execute("INSERT INTO mentions (document_id, entity_id, start, end, text, label, kind,"
               " sentence) VALUES ('d1', 'person:ana', 0, 3, 'Ana', 'PER', 'person', 'Ana.')")
    db.close()

    with Store(path) as store:
        assert store.schema_version == 4 == len(MIGRATIONS)
        row = store.db.execute("SELECT role, entity_id FROM mentions").fetchone()
        assert tuple(row) == (None, "person:ana")
        assert store.db.execute("SELECT source FROM entities").fetchone()[0] is None
        assert store.entities_with_counts() == [{
            "id": "person:ana", "name": "Ana", "label": "PER", "kind": "person",
            "mentions": 1, "documents": 1,
        }]
        assert store.documents_for_case("00012-2023-1-5001-JR-PE-01") == []
        assert store.get("d1").status == "indexed"


def test_annotations_keep_roles_crime_types_and_cases_and_replace_them(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        store.save_document(new_doc("https://rpp.pe/a"))
        store.save_document(new_doc("https://rpp.pe/b", "Otra nota sobre el mismo caso."))
        a, b = store.get(document_id("https://rpp.pe/a")), store.get(document_id("https://rpp.pe/b"))
        crimes = [
            {"code": "extorsion", "article": "200", "start": 40, "end": 49, "snippet": "Luego."},
            {"code": "extorsion", "article": "200", "start": 5, "end": 14, "snippet": "Primero."},
            {"code": "sicariato", "article": "108-C", "start": 60, "end": 69},
        ]
        case = {"kind": "expediente", "normalized": "00012-2023-1-5001-JR-PE-01",
                "text": "Exp. N.° 12-2023-1-5001-JR-PE-01"}
        store.save_annotations(
            a, [mention("official:tomas-galvez", "Tomás Gálvez", "official", role="fiscal de la "
                        "Nación", source="kb")], crimes, [case, dict(case)])
        store.save_annotations(b, [], (), [{**case, "text": "00012-2023-1-5001-JR-PE-01"}])

        assert store.get(a.id).status == ANNOTATED
        assert store.document_crime_types(a.id) == [
            {"code": "extorsion", "article": "200", "count": 2, "first_sentence": "Primero."},
            {"code": "sicariato", "article": "108-C", "count": 1, "first_sentence": None},
        ]
        role = store.db.execute("SELECT role FROM mentions WHERE document_id = ?", (a.id,))
        assert role.fetchone()[0] == "fiscal de la Nación"
        cited = store.documents_for_case("00012-2023-1-5001-JR-PE-01")
        assert sorted(d["id"] for d in cited) == sorted([a.id, b.id])
        assert {d["kind"] for d in cited} == {"expediente"}

        store.save_annotations(a, [], ())  # annotating again replaces everything
        assert store.document_crime_types(a.id) == []
        assert [d["id"] for d in store.documents_for_case(case["normalized"])] == [b.id]


def test_entity_counts_sort_by_mentions_and_filter_by_kind(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        for url in ("https://rpp.pe/a", "https://rpp.pe/b"):
            store.save_document(new_doc(url))
        a, b = (store.get(document_id(u)) for u in ("https://rpp.pe/a", "https://rpp.pe/b"))
        pnp = mention("institution:pnp", "Policía Nacional del Perú", "institution")
        store.save_annotations(a, [pnp, pnp, mention("person:ana-lopez", "Ana López")])
        store.save_annotations(b, [pnp])
        rows = store.entities_with_counts()
        assert [(r["id"], r["mentions"], r["documents"]) for r in rows] == [
            ("institution:pnp", 3, 2), ("person:ana-lopez", 1, 1)]
        assert [r["id"] for r in store.entities_with_counts("person")] == ["person:ana-lopez"]
        assert len(store.entities_with_counts(limit=1)) == 1

        # the knowledge base renames its entities; a name the model found stays as first seen
        store.save_annotations(b, [
            mention("institution:pnp", "Policía Nacional", "institution", source="kb"),
            mention("person:ana-lopez", "ANA LÓPEZ"),
        ])
        names = {r["id"]: r["name"] for r in store.entities_with_counts()}
        assert names == {"institution:pnp": "Policía Nacional", "person:ana-lopez": "Ana López"}


def test_requeue_all_sends_every_document_back(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        for url in ("https://rpp.pe/a", "https://rpp.pe/b", "https://rpp.pe/c"):
            store.save_document(new_doc(url))
        docs = store.pending(FETCHED, 10)
        store.save_annotations(docs[0], [])
        store.mark([docs[1].id], "failed", "boom")
        assert store.requeue_all() == 3
        assert store.counts() == {FETCHED: 3}
        assert store.get(docs[1].id).error is None
