"""A small hand-written corpus of Peruvian news and bulletins, and the two indexes built over it.

The parity suite (tests/test_search_parity.py) and the fuzz test (tests/test_search_fuzz.py)
search it on both backends. Every expected answer in those suites was worked out by reading
these documents, so change a text here only together with the tables there.

What the corpus holds on purpose:
- months Dec 2023 to Jun 2024 with April 2024 empty (histogram gaps), one undated document,
  documents at 23:30/23:59 Lima time on the last day of a month (the Lima day, not the UTC one);
- a near-duplicate cluster of three (n11 primary, n12 and n13 members) from three sources;
- words in a title but not in the body and the reverse (colusión, Fiscalía);
- a proximity pair split across title and body (n20: "sicariato" / "Trujillo");
- stop-word phrases ("Ministerio del Interior" vs "Ministerio de Economía ... al interior");
- "lavado de activos" exact, with one word between, reversed, and with two words between;
- entities under their canonical names and under the aliases they appear as
  ("Boluarte Zegarra", "PNP", "El Chino"), without entities (n19, n22, n28);
- HTML-looking text that a snippet must escape (n25).

Persons accused of crimes are fictional; officials appear only in their public acts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from indexer.base import Hit, IndexBackend, IndexDocument, IndexEntity, SearchResult
from pesquisa.settings import Settings, load_settings

BACKENDS = ("sqlite", "elasticsearch")

Ent = tuple[str, str, str]  # id, canonical name, kind

DINA: Ent = ("official:dina-boluarte", "Dina Boluarte", "official")
SANTIVANEZ: Ent = ("official:juan-jose-santivanez", "Juan José Santiváñez", "official")
VILLENA: Ent = ("official:juan-carlos-villena", "Juan Carlos Villena", "official")
VIZCARRA: Ent = ("official:martin-vizcarra", "Martín Vizcarra", "official")
MP: Ent = ("institution:ministerio-publico", "Ministerio Público", "institution")
PJ: Ent = ("institution:poder-judicial", "Poder Judicial", "institution")
CONGRESO: Ent = ("institution:congreso-de-la-republica", "Congreso de la República",
                 "institution")
PNP: Ent = ("institution:policia-nacional-del-peru", "Policía Nacional del Perú", "institution")
MININTER: Ent = ("institution:ministerio-del-interior", "Ministerio del Interior", "institution")
PROVIAS: Ent = ("institution:provias-nacional", "Provías Nacional", "institution")
CONTRALORIA: Ent = ("institution:contraloria-general-de-la-republica",
                    "Contraloría General de la República", "institution")
UIF: Ent = ("institution:unidad-de-inteligencia-financiera", "Unidad de Inteligencia Financiera",
            "institution")
MEF: Ent = ("institution:ministerio-de-economia-y-finanzas", "Ministerio de Economía y Finanzas",
            "institution")
PULPOS: Ent = ("crime_group:los-pulpos", "Los Pulpos", "crime_group")
ARAGUA: Ent = ("crime_group:tren-de-aragua", "Tren de Aragua", "crime_group")
INJERTOS: Ent = ("crime_group:los-injertos-del-cono-norte", "Los Injertos del Cono Norte",
                 "crime_group")
CHINO: Ent = ("person:jhonatan-quispe-huaman", "Jhonatan Quispe Huamán", "person")
SERVICIOS: Ent = ("organization:servicios-y-obras-sac", "Servicios & Obras S.A.C.",
                  "organization")
TRUJILLO: Ent = ("place:trujillo", "Trujillo", "place")
LIMA: Ent = ("place:lima", "Lima", "place")
CALLAO: Ent = ("place:callao", "Callao", "place")
PATAZ: Ent = ("place:pataz", "Pataz", "place")
LA_LIBERTAD: Ent = ("place:la-libertad", "La Libertad", "place")
CHIMBOTE: Ent = ("place:chimbote", "Chimbote", "place")
ANCASH: Ent = ("place:ancash", "Áncash", "place")
COMAS: Ent = ("place:comas", "Comas", "place")
SMP: Ent = ("place:san-martin-de-porres", "San Martín de Porres", "place")
MOQUEGUA: Ent = ("place:moquegua", "Moquegua", "place")
MADRE_DE_DIOS: Ent = ("place:madre-de-dios", "Madre de Dios", "place")
SURQUILLO: Ent = ("place:surquillo", "Surquillo", "place")
TUMBES: Ent = ("place:tumbes", "Tumbes", "place")


def ent(entity: Ent, *aliases: str) -> IndexEntity:
    """An entity as the NLP stage hands it over: aliases are the names seen in the document
    (the canonical name when no alias is given)."""
    entity_id, name, kind = entity
    return IndexEntity(entity_id, name, kind, aliases or (name,))


def doc(
    doc_id: str, source: str, published: str | None, title: str, text: str,
    entities: Sequence[IndexEntity] = (), crimes: Sequence[str] = (), cluster: str = "",
) -> IndexDocument:
    return IndexDocument(
        id=doc_id, url=f"https://{source}.example.pe/{doc_id}", source=source, title=title,
        text=text, published=published, language="es", entities=tuple(entities),
        crime_types=tuple(crimes), cluster=cluster,
    )


CHIMBOTE_WIRE = (
    "La Policía Nacional del Perú desarticuló la banda Los Injertos del Cono Norte, dedicada a "
    "la extorsión de transportistas en Chimbote. Se incautaron armas y celulares."
)

DOCS: tuple[IndexDocument, ...] = (
    doc("n01", "rpp", "2024-01-08T09:15:00-05:00",
        "Fiscalía allana viviendas de presunta red de extorsión en Trujillo",
        "La Fiscalía contra la Criminalidad Organizada y la Policía Nacional del Perú allanaron "
        "doce viviendas en Trujillo. Según la tesis fiscal, la banda Los Pulpos cobraba cupos a "
        "transportistas y comerciantes de El Porvenir.",
        [ent(MP, "Fiscalía"), ent(PNP), ent(PULPOS), ent(TRUJILLO)],
        ["extorsion", "organizacion_criminal"]),
    doc("n02", "elcomercio", "2024-01-15T18:40:00-05:00",
        "Poder Judicial dicta prisión preventiva contra cabecilla de Los Pulpos",
        "El Poder Judicial dictó 36 meses de prisión preventiva contra Jhonatan Quispe Huamán, "
        "alias El Chino, señalado como cabecilla de la organización criminal. El juez consideró "
        "que existe peligro de fuga.",
        [ent(PJ), ent(PULPOS), ent(CHINO, "Jhonatan Quispe Huamán", "El Chino")],
        ["organizacion_criminal"]),
    doc("n03", "larepublica", "2024-01-22T07:30:00-05:00",
        "Tren de Aragua: capturan a presuntos extorsionadores en San Martín de Porres",
        "Agentes de la PNP capturaron a cinco presuntos integrantes del Tren de Aragua que "
        "exigían pagos a mototaxistas. Los detenidos enviaban audios amenazantes.",
        [ent(PNP, "PNP"), ent(ARAGUA), ent(SMP)],
        ["extorsion", "organizacion_criminal"]),
    doc("n04", "infobae-peru", "2024-02-05T12:00:00-05:00",
        "Ministerio del Interior declara emergencia en Lima Norte",
        "El ministro Juan José Santiváñez anunció el estado de emergencia por extorsiones y "
        "sicariato en cinco distritos. La medida fue publicada en El Peruano.",
        [ent(MININTER), ent(SANTIVANEZ), ent(LIMA)],
        ["extorsion", "sicariato"]),
    doc("n05", "andina", "2024-02-12T16:20:00-05:00",
        "Congreso aprueba ley sobre crimen organizado",
        "El Congreso de la República aprobó en segunda votación la ley que modifica la "
        "definición de organización criminal. Fiscales y jueces advierten que la norma "
        "dificultará las investigaciones por lavado de activos.",
        [ent(CONGRESO, "Congreso de la República")],
        ["organizacion_criminal", "lavado_activos"]),
    doc("n06", "ojo-publico", "2024-02-20T08:00:00-05:00",
        "Lavado de activos: la ruta del oro ilegal de Pataz",
        "Una investigación revela cómo empresas de fachada lavaron millones de soles "
        "provenientes del oro extraído ilegalmente en Pataz, La Libertad.",
        [ent(PATAZ), ent(LA_LIBERTAD)],
        ["lavado_activos", "mineria_ilegal"]),
    doc("n07", "mpfn-noticias", "2024-03-04T10:00:00-05:00",
        "Fiscalía formaliza investigación contra exfuncionarios por colusión",
        "La Fiscalía Anticorrupción formalizó investigación preparatoria contra cuatro "
        "exfuncionarios de Provías Nacional por el presunto delito de colusión agravada en "
        "obras viales.",
        [ent(MP, "Fiscalía Anticorrupción"), ent(PROVIAS)],
        ["colusion"]),
    doc("n08", "pj-noticias", "2024-03-11T11:00:00-05:00",
        "Corte Superior condena a exalcalde por peculado",
        "La Corte Superior de Justicia de Lima condenó a ocho años de prisión a un exalcalde por "
        "apropiarse de fondos públicos. La sala también fijó una reparación civil.",
        [ent(PJ, "Corte Superior de Justicia de Lima"), ent(LIMA)],
        ["peculado"]),
    doc("n09", "rpp", "2024-03-18T20:10:00-05:00",
        "Dina Boluarte se pronuncia sobre la ola de extorsiones",
        "La presidenta Dina Boluarte pidió al Congreso facultades para legislar en seguridad "
        "ciudadana y anunció más patrullajes de la PNP en Lima.",
        [ent(DINA), ent(CONGRESO, "Congreso"), ent(PNP, "PNP"), ent(LIMA)],
        ["extorsion"]),
    doc("n10", "larepublica", "2024-03-25T09:45:00-05:00",
        "Boluarte Zegarra acude a la Fiscalía por el caso Rolex",
        "La mandataria Boluarte Zegarra se presentó ante el despacho del fiscal de la Nación "
        "para declarar en la investigación por presunto enriquecimiento ilícito.",
        [ent(DINA, "Boluarte Zegarra"), ent(MP, "Fiscalía")],
        ["enriquecimiento_ilicito"]),
    doc("n11", "andina", "2024-05-06T08:00:00-05:00",
        "PNP desarticula banda de extorsionadores en Chimbote", CHIMBOTE_WIRE,
        [ent(PNP), ent(INJERTOS), ent(CHIMBOTE)],
        ["extorsion", "banda_criminal"]),
    doc("n12", "rpp", "2024-05-06T10:30:00-05:00",
        "PNP desarticula banda de extorsionadores en Chimbote", CHIMBOTE_WIRE + " (Andina)",
        [ent(PNP), ent(INJERTOS), ent(CHIMBOTE)],
        ["extorsion", "banda_criminal"], cluster="n11"),
    doc("n13", "exitosa", "2024-05-07T07:00:00-05:00",
        "PNP desarticula banda de extorsionadores en Chimbote, Áncash",
        CHIMBOTE_WIRE.replace("armas y celulares", "armas, celulares y dinero en efectivo"),
        [ent(PNP, "PNP", "Policía Nacional del Perú"), ent(INJERTOS), ent(CHIMBOTE),
         ent(ANCASH)],
        ["extorsion", "banda_criminal"], cluster="n11"),
    doc("n14", "infobae-peru", "2024-05-13T14:00:00-05:00",
        "Tren de Aragua amplía sus operaciones en el Callao",
        "Reportes de inteligencia policial indican que facciones del Tren de Aragua controlan la "
        "trata de personas y el préstamo gota a gota en el Callao.",
        [ent(ARAGUA), ent(CALLAO)],
        ["trata_personas", "organizacion_criminal"]),
    doc("n15", "convoca", "2024-05-20T09:00:00-05:00",
        "Contratos de Provías bajo la lupa",
        "Auditores de la Contraloría detectaron sobrecostos en obras viales. Los informes "
        "sugieren colusión entre funcionarios y empresas contratistas.",
        [ent(CONTRALORIA, "Contraloría"), ent(PROVIAS, "Provías")],
        ["colusion"]),
    doc("n16", "pj-noticias", "2024-05-27T17:00:00-05:00",
        "Juez ordena impedimento de salida para investigados por lavado de dinero",
        "El Primer Juzgado de Investigación Preparatoria Nacional ordenó 18 meses de impedimento "
        "de salida del país para tres empresarios.",
        [ent(PJ, "Primer Juzgado de Investigación Preparatoria Nacional")],
        ["lavado_activos"]),
    doc("n17", "mpfn-noticias", "2024-06-03T12:30:00-05:00",
        "Fiscal de la Nación presenta denuncia constitucional contra la presidenta",
        "El fiscal de la Nación, Juan Carlos Villena, presentó ante el Congreso una denuncia "
        "constitucional contra Dina Boluarte por el caso Rolex.",
        [ent(VILLENA), ent(DINA), ent(CONGRESO, "Congreso"), ent(MP, "fiscal de la Nación")],
        ["enriquecimiento_ilicito"]),
    doc("n18", "gestion", "2024-06-10T07:15:00-05:00",
        "Bancos reportan más operaciones sospechosas",
        "La Unidad de Inteligencia Financiera recibió más reportes de operaciones sospechosas "
        "vinculadas al lavado de activos y al financiamiento del terrorismo.",
        [ent(UIF)],
        ["lavado_activos"]),
    doc("n19", "caretas", None,
        "Crónica: el poder de las bandas en el norte",
        "Un recorrido por los barrios donde las bandas criminales imponen su ley. Transportistas "
        "y comerciantes pagan cupos cada semana. «Nosotros pagamos o nos queman el carro», dice "
        "un chofer.",
        [],
        ["extorsion"]),
    doc("n20", "rpp", "2024-06-14T22:00:00-05:00",
        "Ola de sicariato",
        "Trujillo registró doce asesinatos por encargo en un mes, según la Policía.",
        [ent(TRUJILLO), ent(PNP, "Policía")],
        ["sicariato"]),
    doc("n21", "andina", "2024-06-17T10:00:00-05:00",
        "MEF transfiere recursos a regiones",
        "El Ministerio de Economía y Finanzas transfirió fondos al interior del país para obras "
        "de agua y saneamiento.",
        [ent(MEF, "Ministerio de Economía y Finanzas", "MEF")],
        []),
    doc("n22", "rpp", "2024-06-21T19:00:00-05:00",
        "Empresas de transporte en la mira",
        "Según la Procuraduría, los activos eran lavados mediante empresas de transporte "
        "interprovincial.",
        [],
        ["lavado_activos"]),
    doc("n23", "ojo-publico", "2023-12-11T10:00:00-05:00",
        "Casas de cambio bajo sospecha",
        "Un informe describe el lavado ilegal de activos en casas de cambio del Centro de Lima.",
        [ent(LIMA)],
        ["lavado_activos"]),
    doc("n24", "wayka", "2024-01-29T15:00:00-05:00",
        "Madre de Dios: la minería ilegal no se detiene",
        "La deforestación por minería ilegal avanza. La Fiscalía Especializada en Materia "
        "Ambiental intervino tres campamentos en La Pampa.",
        [ent(MADRE_DE_DIOS), ent(MP, "Fiscalía Especializada en Materia Ambiental")],
        ["mineria_ilegal"]),
    doc("n25", "epicentro", "2024-02-27T13:00:00-05:00",
        "Empresa vinculada a red de sobornos",
        "La empresa Servicios & Obras S.A.C. pagó sobornos a funcionarios "
        "<script>alert('x')</script> del gobierno regional, según la tesis fiscal de cohecho.",
        [ent(SERVICIOS)],
        ["cohecho"]),
    doc("n26", "canaln", "2024-03-06T21:30:00-05:00",
        "Sicarios asesinan a transportista en Trujillo",
        "Dos sicarios en motocicleta dispararon contra un transportista que se negó a pagar "
        "cupos a Los Pulpos.",
        [ent(TRUJILLO), ent(PULPOS)],
        ["sicariato", "extorsion"]),
    doc("n27", "peru21", "2024-06-28T08:30:00-05:00",
        "Congreso interpela al ministro del Interior",
        "El pleno del Congreso aprobó interpelar a Juan José Santiváñez por el aumento de las "
        "extorsiones.",
        [ent(CONGRESO, "Congreso"), ent(SANTIVANEZ)],
        ["extorsion"]),
    doc("n28", "gestion", "2024-01-03T18:00:00-05:00",
        "Tipo de cambio cierra estable",
        "El dólar cerró estable en la plaza cambiaria local.",
        [], []),
    doc("n29", "idl-reporteros", "2024-02-14T06:00:00-05:00",
        "Los Pulpos y la policía: una alianza peligrosa",
        "Documentos revelan que policías de La Libertad filtraban información a Los Pulpos. La "
        "PNP abrió procesos disciplinarios.",
        [ent(PULPOS), ent(PNP, "PNP"), ent(LA_LIBERTAD)],
        ["organizacion_criminal"]),
    doc("n30", "trome", "2024-05-29T23:00:00-05:00",
        "Extorsionadores atacan colegio en Comas",
        "Desconocidos lanzaron un explosivo contra un colegio cuyos dueños se negaron a pagar "
        "cupos.",
        [ent(COMAS)],
        ["extorsion"]),
    doc("n31", "expreso", "2024-06-05T06:45:00-05:00",
        "Incautan cocaína en el puerto del Callao",
        "La Policía Nacional del Perú decomisó dos toneladas de cocaína ocultas en contenedores "
        "de plátanos rumbo a Europa.",
        [ent(PNP), ent(CALLAO)],
        ["trafico_drogas"]),
    doc("n32", "correo-politica", "2024-03-27T18:00:00-05:00",
        "Vizcarra: fiscalía pide quince años de prisión",
        "El Ministerio Público solicitó quince años de prisión para Martín Vizcarra por presunto "
        "cohecho en obras de Moquegua.",
        [ent(VIZCARRA, "Vizcarra", "Martín Vizcarra"), ent(MP), ent(MOQUEGUA)],
        ["cohecho"]),
    doc("n33", "elcomercio", "2024-01-31T23:30:00-05:00",
        "Lavandería usada como fachada",
        "Una lavandería de Surquillo servía de fachada para una red de microcomercialización de "
        "drogas, informó la Policía.",
        [ent(PNP, "Policía"), ent(SURQUILLO)],
        ["trafico_drogas"]),
    doc("n34", "andina", "2024-02-01T00:30:00-05:00",
        "Poder Judicial implementa expediente electrónico",
        "El Poder Judicial amplió el expediente judicial electrónico a las cortes de Lima y el "
        "Callao.",
        [ent(PJ), ent(LIMA), ent(CALLAO)],
        []),
    doc("n35", "infobae-peru", "2024-06-30T23:59:00-05:00",
        "El poder de la Fiscalía en debate",
        "Especialistas discuten si el poder judicial debe supervisar la labor fiscal.",
        [ent(MP, "Fiscalía")],
        []),
    doc("n36", "larepublica", "2023-12-28T12:00:00-05:00",
        "Cae alias El Chino, cabecilla de Los Pulpos",
        "Jhonatan Quispe Huamán fue capturado en Tumbes cuando intentaba huir al Ecuador. La PNP "
        "lo buscaba desde hace un año.",
        [ent(CHINO, "El Chino", "Jhonatan Quispe Huamán"), ent(PULPOS), ent(PNP, "PNP"),
         ent(TUMBES)],
        ["organizacion_criminal"]),
)

BY_ID = {d.id: d for d in DOCS}
ALL_IDS = frozenset(BY_ID)


def cluster_of(doc_id: str) -> str:
    return BY_ID[doc_id].cluster or doc_id


def clusters(doc_ids: frozenset[str] | set[str]) -> set[str]:
    return {cluster_of(d) for d in doc_ids}


# --- building the two indexes --------------------------------------------------------------

def es_settings(url: str, alias: str, data_dir: Path) -> Settings:
    return load_settings(
        overrides={"index_backend": "elasticsearch", "index_url": url, "data_dir": str(data_dir),
                   "elasticsearch": {"index": alias}},
        environ={},
    )


@contextmanager
def built_index(name: str, directory: Path, es_url: str | None = None,
                docs: Sequence[IndexDocument] = DOCS) -> Iterator[IndexBackend]:
    """A fresh index of `docs` on one backend, closed (and, on ES, deleted) afterwards."""
    if name == "sqlite":
        from indexer.backends.sqlite import SqliteIndex

        index: IndexBackend = SqliteIndex(directory / "index.sqlite", create=True)
        try:
            index.upsert(list(docs))
            yield index
        finally:
            index.close()
        return
    assert es_url is not None
    from elasticsearch import Elasticsearch

    from indexer.backends.elasticsearch import ElasticsearchIndex
    from tests.es_node import delete_indexes

    alias = f"test-parity-{uuid.uuid4().hex[:12]}"
    es_index = ElasticsearchIndex(es_settings(es_url, alias, directory), create=True)
    try:
        es_index.upsert(list(docs))
        yield es_index
    finally:
        es_index.close()
        client = Elasticsearch(es_url, request_timeout=60)
        try:
            delete_indexes(client, alias)
        finally:
            client.close()


# --- reading results -----------------------------------------------------------------------

def everything(index: IndexBackend, text: str, **kwargs: Any) -> SearchResult:
    """All hits of a query on the corpus (one page is enough: it has fewer than 100)."""
    return index.search(text, limit=100, **kwargs)


def matched_docs(result: SearchResult) -> int:
    """How many documents matched: each hit plus the cluster members collapsed into it."""
    return sum(1 + hit.duplicates for hit in result.hits)


def hit_ids(hits: Sequence[Hit]) -> list[str]:
    return [hit.id for hit in hits]
