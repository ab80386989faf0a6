"""Peruvian case numbers found and normalized, without the statistical model (spacy.blank)."""

from __future__ import annotations

import pickle

import pytest
import spacy
from spacy.tokens import Doc

import nlp.factories  # noqa: F401  (registers our components)
from nlp.components.case_numbers import find_case_numbers, normalize_case_number


def found(text: str) -> list[tuple[str, str, str]]:
    return [(c["kind"], c["text"], c["normalized"]) for c in find_case_numbers(text)]


@pytest.mark.parametrize(
    ("text", "kind", "cited", "normalized"),
    [
        ("El juez del expediente 00012-2023-1-5001-JR-PE-01 fijó fecha.",
         "expediente", "expediente 00012-2023-1-5001-JR-PE-01", "00012-2023-1-5001-JR-PE-01"),
        ("En el Exp. N.° 00299-2017-36-5001-JR-PE-01 se dictó prisión preventiva.",
         "expediente", "Exp. N.° 00299-2017-36-5001-JR-PE-01", "00299-2017-36-5001-JR-PE-01"),
        ("la audiencia (Exp. Nº 19-2018-1-5401-jr-pe-3) se suspendió",
         "expediente", "Exp. Nº 19-2018-1-5401-jr-pe-3", "00019-2018-1-5401-JR-PE-03"),
        ("el caso 00254-2019-2-1826-JR-PE-03 sigue en giro",
         "expediente", "00254-2019-2-1826-JR-PE-03", "00254-2019-2-1826-JR-PE-03"),
        ("según el expediente 249-2015, el acusado",
         "expediente", "expediente 249-2015", "00249-2015"),
        ("Exp. 123-2019.", "expediente", "Exp. 123-2019", "00123-2019"),
        ("el Expediente N° 00123-2019 fue archivado",
         "expediente", "Expediente N° 00123-2019", "00123-2019"),
        ("El TC resolvió el Exp. N.° 00006-2019-CC/TC sobre la vacancia.",
         "expediente_tc", "Exp. N.° 00006-2019-CC/TC", "00006-2019-CC/TC"),
        ("la demanda 00023-2022-PI/TC contra la ley",
         "expediente_tc", "00023-2022-PI/TC", "00023-2022-PI/TC"),
        ("el hábeas corpus (Exp. 4968-2014-PHC/TC) fue declarado fundado",
         "expediente_tc", "Exp. 4968-2014-PHC/TC", "04968-2014-PHC/TC"),
        ("la STC 0022-2023-PI / TC", "expediente_tc", "STC 0022-2023-PI / TC",
         "00022-2023-PI/TC"),
        ("en la Carpeta Fiscal N° 506015504-2023-123-0 consta",
         "carpeta_fiscal", "Carpeta Fiscal N° 506015504-2023-123-0",
         "CF 506015504-2023-123-0"),
        ("abrió la carpeta fiscal 12-2024 por peculado",
         "carpeta_fiscal", "carpeta fiscal 12-2024", "CF 12-2024"),
        ("dentro de la carpeta N.° 55-2023 se ordenó",
         "carpeta_fiscal", "carpeta N.° 55-2023", "CF 55-2023"),
        ("La Casación N.° 1234-2019-Lima fijó doctrina.",
         "casacion", "Casación N.° 1234-2019-Lima", "CAS 1234-2019"),
        ("la Casación 864-2017/Nacional sobre colusión",
         "casacion", "Casación 864-2017/Nacional", "CAS 864-2017"),
        ("la Cas. N° 292-2019-Lima Norte", "casacion", "Cas. N° 292-2019-Lima Norte",
         "CAS 292-2019"),
        ("la Sala revisó el R.N. 2345-2018 y absolvió", "recurso_nulidad", "R.N. 2345-2018",
         "RN 2345-2018"),
        ("el recurso de nulidad N.° 1500-2017-Lima", "recurso_nulidad",
         "recurso de nulidad N.° 1500-2017-Lima", "RN 1500-2017"),
        ("el RN N° 0345-2018/Ica", "recurso_nulidad", "RN N° 0345-2018/Ica", "RN 345-2018"),
    ],
)
def test_forms_in_context(text: str, kind: str, cited: str, normalized: str) -> None:
    assert found(text) == [(kind, cited, normalized)]


@pytest.mark.parametrize(
    "variants",
    [
        ["Exp. 12-2023-1-5001-JR-PE-1", "00012-2023-1-5001-JR-PE-01",
         "expediente N.° 012-2023-01-5001-jr-pe-01", "Exp. Nº 00012–2023–1–5001–JR–PE–01",
         "EXPEDIENTE No. 12‑2023‑1‑5001‑JR‑PE‑01"],
        ["Exp. N.° 00006-2019-CC/TC", "6-2019-cc/tc", "expediente 0006-2019-CC / TC"],
        ["expediente 249-2015", "Exp. N° 00249-2015", "Expte. 0249-2015"],
        ["Carpeta Fiscal N° 506015504-2023-123-0", "carpeta fiscal 506015504-2023-0123-00"],
        ["Casación N.° 1234-2019-Lima", "casación 1234-2019", "Cas. 01234-2019/Lima"],
        ["R.N. 2345-2018", "recurso de nulidad N.º 2345-2018-Lima", "RN 2345-2018"],
    ],
)
def test_normalization_links_the_spellings_of_one_case(variants: list[str]) -> None:
    normalized = {normalize_case_number(v) for v in variants}
    assert len(normalized) == 1, normalized


def test_kinds_stay_apart() -> None:
    keys = {
        normalize_case_number(text)
        for text in ["Casación 1234-2019", "R.N. 1234-2019", "carpeta fiscal 1234-2019",
                     "expediente 1234-2019"]
    }
    assert None not in keys
    assert len({key[1] for key in keys if key is not None}) == 4


@pytest.mark.parametrize(
    "text",
    [
        "El periodo 2019-2023 fue el más violento.",
        "Llame al 01-2023-4567 para más información.",
        "La Ley N.° 30077 contra el crimen organizado.",
        "La Resolución de la Fiscalía de la Nación N.° 1234-2019-MP-FN.",
        "El Decreto Legislativo 1106 regula el lavado de activos.",
        "La casación fue admitida el 12-03-2024.",
        "Se incautaron 123-2019 kilos.",
        "El expediente técnico de la obra costó 2 millones.",
        "el RNP 2345-2018 de proveedores",
        "la carpeta 12-2024 de documentos",  # a folder: no 'fiscal', no number sign
    ],
)
def test_no_case_number(text: str) -> None:
    assert found(text) == []


def test_several_numbers_with_offsets_in_a_doc() -> None:
    text = (
        "La fiscal José Domingo Pérez (Carpeta Fiscal N.° 55-2017) pidió al juez del "
        "Exp. 00299-2017-36-5001-JR-PE-01 reprogramar; la defensa citó la Casación "
        "N.° 1234-2019-Lima y la STC 00006-2019-CC/TC."
    )
    pipeline = spacy.blank("es")
    pipeline.add_pipe("pesquisa_case_numbers")
    doc = pipeline(text)
    cases = doc._.case_numbers
    assert [c["kind"] for c in cases] == [
        "carpeta_fiscal", "expediente", "casacion", "expediente_tc",
    ]
    for case in cases:
        assert text[case["start"]:case["end"]] == case["text"]
        assert set(case) == {"kind", "text", "normalized", "start", "end"}
    again = Doc(pipeline.vocab).from_bytes(doc.to_bytes())
    assert again._.case_numbers == cases


def test_short_form_never_shadows_the_full_number() -> None:
    assert found("Exp. 123-2019-1-5001-JR-PE-01") == [
        ("expediente", "Exp. 123-2019-1-5001-JR-PE-01", "00123-2019-1-5001-JR-PE-01"),
    ]


def test_component_pickles() -> None:
    pipeline = spacy.blank("es")
    finder = pipeline.add_pipe("pesquisa_case_numbers")
    clone = pickle.loads(pickle.dumps(finder))
    doc = clone(pipeline.make_doc("expediente 249-2015"))
    assert doc._.case_numbers[0]["normalized"] == "00249-2015"


def test_a_number_deep_in_a_long_text() -> None:
    filler = "Entre 2019-2023 hubo audiencias el 12-03-2024 y el 15-04-2024 en Lima. " * 40
    text = filler + "La Sala vio el Exp. N.° 00299-2017-36-5001-JR-PE-01 ayer. " + filler
    (case,) = find_case_numbers(text)
    assert text[case["start"]:case["end"]] == "Exp. N.° 00299-2017-36-5001-JR-PE-01"
