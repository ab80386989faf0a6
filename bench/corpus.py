"""A generated corpus of Spanish news documents for the index benchmark, built from a vocabulary.

Nothing here is copied text: every title and body is drawn, with a seeded `random.Random`, from
word lists written for it, so the same seed always gives the same documents:

- Spanish function words, and content words derived from hand-written lemmas (nouns with their
  plurals, adjectives in four forms and their -mente adverbs, regular verbs in 17 forms, accents
  and ñ included): ~5,000 distinct forms. Lemmas follow a Zipf-like law (weight 1/(rank+q)^s
  over a seeded shuffle), and each lemma's forms share its weight unevenly, so that a few stems
  are in most documents and a long tail is in a handful;
- collocations of the crime and justice beat ("lavado de activos", "prisión preventiva"), so
  that phrase queries find something;
- entities, also Zipf-distributed: invented officials (`official:<slug>`, each with two
  aliases) and people, real Peruvian institutions and places, invented crime groups and
  companies, a few hundred in all; names are written into sentences under their canonical name
  or an alias, and each document lists the entities and the names it uses;
- the 30 source ids of `config/sources`, crime-type codes of `config/kb/crime_types.yml`,
  published dates over ten years in Lima time (ISO, `-05:00`; ~3% have none), and ~5% of the
  documents in near-duplicate clusters (a copy from another source, a few words changed).

Titles have 8-14 words, bodies 150-400 words in sentences and paragraphs.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property

from indexer import analysis
from indexer.base import IndexDocument, IndexEntity
from pesquisa.ids import document_id, entity_id


def _listed(text: str) -> list[str]:
    return text.split()


SEED = 20240605
BATCH = 1000
FIRST_DAY = date(2016, 1, 1)
DAYS = 3653  # ten years: 2016-01-01 .. 2025-12-31
UNDATED = 0.03  # share of documents without a published date
DUPLICATE = 0.027  # share of documents that are a near-copy of a recent one (~5% in clusters)
FUNCTION_SHARE = 0.45  # share of running words that are function words, as in Spanish prose

SOURCES = _listed("""
andina canaln caretas contraloria-noticias convoca correo-politica elcomercio-politica-sitemap
elcomercio elperuano-extraordinaria elperuano-normas-legales elperuano-noticias epicentro exitosa
expreso gestion-news-sitemap gestion gobpe-normas-mpfn gobpe-normas-pj idl-reporteros
infobae-peru jnj-noticias larepublica mpfn-noticias ojo-publico peru21 pj-noticias rpp
tc-sentencias trome wayka
""")

# Crime-type codes (config/kb/crime_types.yml) with words the press uses for them.
CRIME_TYPES: dict[str, tuple[str, ...]] = {
    "extorsion": ("extorsión", "cobro de cupos", "extorsionadores", "pago de cupos"),
    "sicariato": ("sicariato", "sicarios", "sicario"),
    "organizacion_criminal": ("organización criminal", "organizaciones criminales"),
    "banda_criminal": ("banda criminal", "bandas criminales"),
    "lavado_activos": ("lavado de activos", "lavado de dinero"),
    "trafico_drogas": ("tráfico ilícito de drogas", "narcotráfico", "microcomercialización"),
    "mineria_ilegal": ("minería ilegal", "mineros ilegales"),
    "trata_personas": ("trata de personas", "explotación sexual"),
    "colusion": ("colusión agravada", "colusión"),
    "peculado": ("peculado doloso", "peculado"),
    "cohecho": ("cohecho pasivo", "cohecho activo", "coimas"),
    "negociacion_incompatible": ("negociación incompatible",),
    "trafico_influencias": ("tráfico de influencias",),
    "enriquecimiento_ilicito": ("enriquecimiento ilícito",),
}

FUNCTION_WORDS = _listed("""
de la que el en y a los del se las por un para con no una su al lo como más pero sus le ya o
este sí porque esta entre cuando muy sin sobre también me hasta hay donde quien desde todo nos
durante todos uno les ni contra otros ese eso ante ellos e esto antes algunos unos otro otras
otra él tanto esa estos mucho quienes nada muchos cual poco ella estas algunas algo fue ha han
es son era según tras mediante cuyo cuya aunque mientras luego después sino tal tan cada
""")

NOUNS = _listed("""
delito fiscal juez jueza policía fiscalía investigación denuncia caso proceso sentencia prisión
cárcel audiencia acusación imputado testigo víctima banda organización red grupo cabecilla
integrante miembro sicario extorsión extorsionador cupo amenaza atentado ataque disparo bala arma
explosivo asesinato homicidio crimen droga cocaína marihuana narcotráfico narcotraficante dinero
dólar millón pago soborno coima contrato obra licitación consorcio empresa empresario
funcionario alcalde gobernador ministro ministra congresista presidente presidenta gobierno
municipio región provincia distrito ciudad barrio calle avenida mercado tienda colegio hospital
puerto aeropuerto frontera carretera mina minería oro río bosque madera tala comunidad poblador
vecino comerciante transportista chofer mototaxi bus camión vehículo auto celular teléfono
mensaje audio video correo documento informe reporte expediente resolución decreto ley norma
artículo código pena año mes semana día hora noche madrugada fecha plazo etapa fase operativo
allanamiento captura detención arresto requisitoria orden mandato juicio apelación recurso
tribunal sala corte juzgado despacho oficina sede local inmueble vivienda casa terreno propiedad
bien cuenta banco transferencia depósito patrimonio fortuna herencia activo lavado fondo
presupuesto gasto compra venta precio costo sobrecosto perjuicio daño pérdida nación país mundo
pueblo sociedad ciudadano ciudadanía elector elección campaña partido candidato votación voto
moción vacancia censura interpelación comisión pleno bancada dictamen proyecto reforma poder
cargo puesto función trabajo labor servicio salud educación seguridad justicia derecho libertad
garantía control fiscalización auditoría contraloría contralor procurador procuraduría abogado
defensa colaborador testimonio declaración versión prueba indicio evidencia pericia peritaje
análisis estudio dato cifra número porcentaje total parte lado zona sector área punto lugar
espacio paso vez forma manera modo tipo clase nivel grado problema situación hecho suceso
incidente escándalo polémica crisis conflicto protesta marcha paro huelga bloqueo enfrentamiento
herido muerto fallecido cadáver cuerpo familia familiar padre madre hijo hija hermano hermana
esposa esposo pareja amigo socio cómplice jefe líder dirigente agente efectivo suboficial
comisario comisaría general coronel capitán teniente soldado militar ejército marina penal reo
interno preso recluso celda pabellón visita fuga rescate secuestro rehén chantaje estafa fraude
robo asalto hurto ladrón delincuente delincuencia criminalidad violencia inseguridad miedo temor
terror pánico emergencia niño niña compañía señal señor señora dueño diseño desempeño enseñanza
tamaño engaño sueño baño testaferro peculado colusión cohecho prevaricato narcoavioneta insumo
hoja coca chatarra huaico maceración pista aterrizaje avioneta lancha embarcación contenedor
cargamento paquete ladrillo kilo tonelada balanza báscula almacén depósito galpón taller
fábrica planta proveedor cliente usuario afiliado contribuyente tributo impuesto arancel aduana
exportación importación comercio negocio inversión inversionista préstamo deuda interés cobro
cobranza usura prestamista moroso acreedor deudor garante aval fianza multa sanción castigo
inhabilitación destitución suspensión renuncia nombramiento designación ascenso traslado
rotación reasignación planilla sueldo salario bono gratificación viático pasaje viaje vuelo
hotel restaurante almuerzo reunión cita encuentro conversación llamada grabación escucha
interceptación seguimiento vigilancia cámara filmación fotografía imagen captura pantalla
registro archivo carpeta folio tomo anexo oficio memorando carta nota comunicado pronunciamiento
conferencia entrevista portavoz vocero prensa periodista periódico diario revista radio
televisión canal programa noticia titular portada columna opinión editorial crítica respuesta
pregunta consulta duda sospecha rumor versión fuente
""")

ADJECTIVES_O = _listed("""
público político ilícito presunto supuesto nuevo viejo antiguo alto bajo largo corto pequeño
último próximo extranjero peruano limeño chalaco norteño sureño andino amazónico económico
financiero tributario aduanero bancario administrativo legislativo ejecutivo armado organizado
peligroso sospechoso falso verdadero cierto claro oscuro secreto reservado preliminar preventivo
definitivo específico único diverso distinto parecido necesario rápido lento inmediato pasado
futuro humano privado millonario corrupto honesto culpable inocente detenido capturado
investigado denunciado sentenciado condenado absuelto liberado prófugo clandestino indebido
fraudulento ficticio vinculado relacionado implicado involucrado jurídico técnico médico lógico
histórico crítico práctico pésimo extraño agrario minero pesquero informático tecnológico urbano
""")

ADJECTIVES_E = _listed("""
judicial policial criminal ilegal informal nacional regional provincial municipal distrital
local internacional penal civil constitucional electoral oficial formal grave leve anterior
posterior mayor menor principal central especial importante relevante posible imposible probable
difícil fácil urgente reciente actual presente social laboral sindical empresarial comercial
industrial rural popular estatal responsable irregular temporal permanente total final
""")

VERBS_AR = _listed("""
denunciar investigar acusar capturar allanar incautar decomisar sentenciar condenar archivar apelar
declarar informar señalar indicar explicar precisar asegurar afirmar rechazar cuestionar criticar
solicitar reclamar recomendar ordenar dictar aprobar desaprobar votar firmar pagar cobrar depositar
lavar ocultar esconder trasladar llegar ingresar escapar fugar disparar asesinar matar atacar
amenazar extorsionar secuestrar robar asaltar estafar engañar sobornar negociar contratar adjudicar
licitar comprar vender importar exportar trabajar operar liderar coordinar organizar integrar
participar colaborar cooperar ayudar apoyar respaldar presentar publicar difundir filtrar revelar
confirmar aclarar considerar evaluar analizar revisar examinar verificar comprobar constatar hallar
ubicar identificar registrar grabar escuchar llamar citar convocar programar realizar iniciar
terminar culminar continuar aumentar incrementar superar alcanzar ganar gastar financiar justificar
sustentar fundamentar acreditar implicar involucrar vincular relacionar mencionar nombrar designar
suspender renunciar juramentar asumir alertar anunciar reportar detectar intentar evitar procesar
interrogar liberar custodiar patrullar sancionar multar inhabilitar fiscalizar auditar observar
impugnar imputar tramitar
""")

VERBS_ER_IR = _listed("""
aprender comprender corresponder responder vender deber temer meter cometer prometer
comprometer sorprender depender exceder proceder acceder conceder ceder correr recibir decidir
cumplir permitir asistir existir insistir resistir discutir admitir omitir transmitir sufrir
subir unir dividir residir presidir coincidir invadir evadir persuadir incumplir difundir
confundir imprimir suprimir reprimir exhibir compartir partir repartir interrumpir irrumpir
consumir presumir resumir combatir debatir vivir ocurrir concurrir recurrir transcurrir
""")

# Forms of a regular verb with the share of the lemma's weight each gets (news prose is in the
# preterite and the participle much more than in the future or the subjunctive).
AR_FORMS = (("ar", 12), ("a", 10), ("an", 5), ("ó", 18), ("aron", 8), ("aba", 4), ("aban", 2),
            ("ado", 12), ("ada", 6), ("ados", 4), ("adas", 2), ("ando", 4), ("ará", 4),
            ("arán", 2), ("aría", 2), ("e", 3), ("en", 2))
ER_FORMS = (("er", 12), ("e", 10), ("en", 5), ("ió", 18), ("ieron", 8), ("ía", 4), ("ían", 2),
            ("ido", 12), ("ida", 6), ("idos", 4), ("idas", 2), ("iendo", 4), ("erá", 4),
            ("erán", 2), ("ería", 2), ("a", 3), ("an", 2))
IR_FORMS = tuple(({"er": "ir", "erá": "irá", "erán": "irán", "ería": "iría"}.get(f, f), w)
                 for f, w in ER_FORMS)

COLLOCATIONS = (
    "prisión preventiva", "detención preliminar", "investigación preliminar",
    "crimen organizado", "colaborador eficaz", "allanamiento de inmuebles", "orden de captura",
    "impedimento de salida", "control de identidad", "flagrante delito", "juicio oral",
    "acusación constitucional", "obra pública", "fondos públicos", "cuentas bancarias",
    "empresas de fachada", "proceso inmediato", "audiencia virtual", "denuncia penal",
    "reparación civil", "hoja de coca", "insumos químicos", "pozas de maceración",
    "pista de aterrizaje", "zona de frontera", "penal de máxima seguridad", "estado de emergencia",
    "requerimiento fiscal", "carpeta fiscal", "informe de control", "perjuicio económico",
    "presunto cabecilla", "red de corrupción", "mesa de partes", "declaración jurada",
)

FIRST_NAMES = _listed("""
José Luis Carlos Juan Jorge Miguel César Víctor Pedro Raúl Óscar Walter Wilfredo Edwin Julio
Alberto Fernando Ricardo Gustavo Hernán Ángel Rubén Iván Elmer Nilo Percy Ulises Segundo Américo
Teófilo Eusebio Hugo María Rosa Carmen Ana Luz Gladys Elizabeth Patricia Milagros Lourdes
Yolanda Rocío Norma Silvia Sonia Flor Karina Maritza Nelly Zoraida Ruth Mercedes Jessica Gisela
Hilda Ingrid Liliana Teresa Verónica Inés Marleny Yesenia Nélida Zenaida
""")

SURNAMES = _listed("""
Quispe Mamani Huamán Flores Rodríguez García Sánchez Chávez Ramírez Torres Rojas Vargas Mendoza
Gutiérrez Díaz Ramos Cruz Espinoza Vásquez Fernández Romero Ríos Herrera Salazar Medina Aguilar
Castro Morales Paredes Ruiz Campos Cárdenas Córdova Huanca Condori Apaza Ticona Poma Yupanqui
Chambi Choque Layme Cusi Huayta Mayta Zapata Villanueva Palacios Alvarado Guerrero Valverde
Pacheco Peña Ñique Ñahui Saavedra Zúñiga Cáceres Bustamante Benavides Arévalo Ugarte Olivares
Tapia Valdivia Muñoz Núñez Ibáñez Montoya Velásquez Lozano Gamarra Cabrera Ochoa Carrasco Delgado
Llerena Quiroz Cahuana Ccori Tacuri Sulca Ataucusi Vilca Pari Inga
""")

PLACES = """
Lima|Callao|Trujillo|Chiclayo|Piura|Sullana|Tumbes|Chimbote|Huaraz|Cajamarca|Chachapoyas|
Moyobamba|Tarapoto|Iquitos|Pucallpa|Huánuco|Tingo María|Cerro de Pasco|Huancayo|La Oroya|
Huancavelica|Ayacucho|Abancay|Andahuaylas|Cusco|Quillabamba|Puerto Maldonado|Puno|Juliaca|
Arequipa|Camaná|Moquegua|Ilo|Tacna|Ica|Pisco|Chincha|Nazca|Huacho|Barranca|Huaral|Cañete|
San Juan de Lurigancho|San Martín de Porres|Comas|Ate|Villa El Salvador|Villa María del Triunfo|
Carabayllo|Puente Piedra|Los Olivos|Independencia|El Agustino|La Victoria|Chorrillos|Surco|
Miraflores|San Isidro|Breña|Rímac|Ventanilla|Bellavista|La Perla|Jicamarca|Pataz|La Pampa|
Madre de Dios|Vraem|Pichari|Putumayo|Caballococha|Yurimaguas|Bagua|Jaén|Olmos|Paita|Talara|
Sechura|Huamachuco|Otuzco|Cajabamba|Chota|Cutervo|Lambayeque|Ferreñafe|Tocache|Aguaytía|Satipo|
Pichanaqui|Tarma|Jauja|Huanta|Quinua|Espinar|Sicuani|Azángaro|Desaguadero
""".replace("\n", "").split("|")

INSTITUTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Ministerio Público", ("Fiscalía de la Nación",)),
    ("Poder Judicial", ()),
    ("Policía Nacional del Perú", ("PNP", "Policía Nacional")),
    ("Contraloría General de la República", ("Contraloría General",)),
    ("Congreso de la República", ("Congreso",)),
    ("Ministerio del Interior", ("Mininter",)),
    ("Ministerio de Justicia y Derechos Humanos", ("Minjusdh",)),
    ("Ministerio de Economía y Finanzas", ("MEF",)),
    ("Ministerio de Transportes y Comunicaciones", ("MTC",)),
    ("Ministerio de Vivienda", ()),
    ("Ministerio de Salud", ("Minsa",)),
    ("Ministerio de Educación", ("Minedu",)),
    ("Ministerio de Energía y Minas", ("Minem",)),
    ("Ministerio de Defensa", ("Mindef",)),
    ("Tribunal Constitucional", ("TC",)),
    ("Junta Nacional de Justicia", ("JNJ",)),
    ("Jurado Nacional de Elecciones", ("JNE",)),
    ("Oficina Nacional de Procesos Electorales", ("ONPE",)),
    ("Defensoría del Pueblo", ()),
    ("Procuraduría General del Estado", ()),
    ("Procuraduría Anticorrupción", ()),
    ("Unidad de Inteligencia Financiera", ("UIF",)),
    ("Superintendencia de Banca, Seguros y AFP", ("SBS",)),
    ("Sunat", ("Superintendencia Nacional de Aduanas y de Administración Tributaria",)),
    ("Sunarp", ()),
    ("Instituto Nacional Penitenciario", ("INPE",)),
    ("Dirección Antidrogas", ("Dirandro",)),
    ("Dirección contra la Corrupción", ("Dircocor",)),
    ("Dirección de Investigación Criminal", ("Dirincri",)),
    ("Devida", ()),
    ("Fuerzas Armadas", ()),
    ("Ejército del Perú", ()),
    ("Marina de Guerra del Perú", ()),
    ("Sala Penal Nacional", ()),
    ("Corte Superior de Justicia de Lima", ()),
    ("Corte Suprema", ()),
    ("Equipo Especial Lava Jato", ()),
    ("Fiscalía contra la Criminalidad Organizada", ("Fecor",)),
    ("Fiscalía Anticorrupción", ()),
    ("Provías Nacional", ()),
    ("Essalud", ()),
    ("Osce", ("Organismo Supervisor de las Contrataciones del Estado",)),
)

GROUP_HEADS = _listed("""
Pulpos Gallos Topos Halcones Lobos Tiburones Injertos Malditos Rucos Carroñeros Pirañas Chacales
Invisibles Intocables Temibles Dinámicos Cuellos Blancos Babys Rápidos Orejas Gatos Cóndores
Zorros Pumas Jaguares Alacranes Escorpiones Vampiros Fantasmas
""")

COMPANY_WORDS = _listed("""
Andina Inca Pacífico Sur Norte Oriente Amazonas Cóndor Vial Constructora Minera Logística
Inversiones Servicios Transportes Consultores Ingeniería
""")


def zipf(n: int, s: float, q: float) -> list[float]:
    """Zipf-Mandelbrot weights of ranks 1..n: 1/(rank+q)^s."""
    return [1.0 / (rank + q) ** s for rank in range(1, n + 1)]


def plural(noun: str) -> str:
    """The plural of a Spanish noun or adjective of our lists (regular rules, a few fixes)."""
    if noun[-1] in "aeiouáéó":
        return noun + "s"
    if noun.endswith("z"):
        return noun[:-1] + "ces"
    if noun == "orden":
        return "órdenes"
    if noun.endswith("és"):  # interés -> intereses
        return noun[:-2] + "eses"
    if noun.endswith("ión"):
        return noun[:-3] + "iones"
    if noun.endswith("is"):  # análisis, crisis
        return noun
    if noun.endswith("én") and len(noun) > 3:  # rehén -> rehenes
        return noun[:-2] + "enes"
    if noun.endswith("án"):
        return noun[:-2] + "anes"
    if noun.endswith("ón"):
        return noun[:-2] + "ones"
    return noun + "es"


def _verb_forms(infinitive: str) -> list[tuple[str, float]]:
    stem, ending = infinitive[:-2], infinitive[-2:]
    table = AR_FORMS if ending == "ar" else ER_FORMS if ending == "er" else IR_FORMS
    forms: list[tuple[str, float]] = []
    for suffix, weight in table:
        base = stem
        if ending == "ar" and suffix.startswith("e"):  # spelling before e: busque, pague, alcance
            if base.endswith("c"):
                base = base[:-1] + "qu"
            elif base.endswith("g"):
                base = base + "u"
            elif base.endswith("z"):
                base = base[:-1] + "c"
        forms.append((base + suffix, weight))
    return forms


def _adjective_forms(adjective: str, ending_o: bool) -> list[tuple[str, float]]:
    if ending_o:
        base = adjective[:-1]
        forms = [(adjective, 8.0), (base + "a", 6.0), (base + "os", 4.0), (base + "as", 3.0)]
        forms.append((base + "amente", 1.0))
        return forms
    return [(adjective, 10.0), (plural(adjective), 5.0)]


@dataclass(frozen=True)
class Entity:
    id: str
    name: str
    kind: str
    aliases: tuple[str, ...]

    @property
    def surfaces(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


class Vocabulary:
    """Every word list, weight and entity of the corpus, derived from one seed."""

    def __init__(self, seed: int = SEED) -> None:
        rng = random.Random(seed)
        # lemma -> forms with shares, in a seeded order that becomes the Zipf rank
        lemmas: list[list[tuple[str, float]]] = []
        seen: set[str] = set()
        for noun in dict.fromkeys(NOUNS):
            lemmas.append([(noun, 3.0), (plural(noun), 1.0)])
        for adjective in dict.fromkeys(ADJECTIVES_O):
            lemmas.append(_adjective_forms(adjective, True))
        for adjective in dict.fromkeys(ADJECTIVES_E):
            lemmas.append(_adjective_forms(adjective, False))
        for verb in dict.fromkeys(VERBS_AR + VERBS_ER_IR):
            lemmas.append(_verb_forms(verb))
        rng.shuffle(lemmas)
        weights = zipf(len(lemmas), s=1.25, q=2.0)
        words: list[str] = []
        word_weights: list[float] = []
        for lemma, lemma_weight in zip(lemmas, weights, strict=True):
            total = sum(share for _, share in lemma)
            for form, share in lemma:
                if form in seen or form in FUNCTION_WORDS:
                    continue
                seen.add(form)
                words.append(form)
                word_weights.append(lemma_weight * share / total)
        content_mass = sum(word_weights)
        function_weights = zipf(len(FUNCTION_WORDS), s=1.0, q=1.0)
        function_mass = sum(function_weights)
        self.content_words = words
        self.words: list[str] = list(FUNCTION_WORDS) + words
        probabilities = [w / function_mass * FUNCTION_SHARE for w in function_weights]
        probabilities += [w / content_mass * (1 - FUNCTION_SHARE) for w in word_weights]
        self.probability = dict(zip(self.words, probabilities, strict=True))
        self.cum_weights = list(itertools.accumulate(probabilities))
        self.entities = self._entities(rng)
        self.entity_cum = list(itertools.accumulate(zipf(len(self.entities), s=1.0, q=3.0)))
        self.sources = list(SOURCES)
        self.source_cum = list(itertools.accumulate(zipf(len(SOURCES), s=0.9, q=1.0)))
        self.crimes = list(CRIME_TYPES)
        rng.shuffle(self.crimes)
        self.crime_cum = list(itertools.accumulate(zipf(len(self.crimes), s=1.0, q=1.0)))
        self.collocation_cum = list(itertools.accumulate(zipf(len(COLLOCATIONS), s=1.0, q=2.0)))

    @staticmethod
    def _entities(rng: random.Random) -> list[Entity]:
        entities: list[Entity] = []
        ids: set[str] = set()

        def add(kind: str, name: str, aliases: Sequence[str]) -> None:
            identifier = entity_id(kind, name)
            if identifier not in ids:
                ids.add(identifier)
                entities.append(Entity(identifier, name, kind, tuple(aliases)))

        def person(kind: str) -> None:
            first, second = rng.sample(FIRST_NAMES, 2)
            father, mother = rng.sample(SURNAMES, 2)
            add(kind, f"{first} {father} {mother}",
                (f"{first} {father}", f"{first} {second} {father} {mother}"))

        for _ in range(140):
            person("official")
        for _ in range(60):
            person("person")
        for name, aliases in INSTITUTIONS:
            add("institution", name, aliases)
        for place in PLACES[:30]:
            add("institution", f"Municipalidad Provincial de {place}", (f"Municipio de {place}",))
        for place in PLACES[:25]:
            add("institution", f"Gobierno Regional de {place}", (f"GORE {place}",))
        for place in PLACES:
            add("place", place, ())
        for head in GROUP_HEADS:
            place = rng.choice(PLACES)
            add("crime_group", f"Los {head} de {place}", (f"Los {head}", f"{head} de {place}"))
        for _ in range(24):
            first, second = rng.sample(COMPANY_WORDS, 2)
            suffix = rng.choice(("S.A.C.", "E.I.R.L.", "S.A."))
            add("organization", f"{first} {second} {suffix}", (f"Consorcio {first} {second}",))
        rng.shuffle(entities)
        return entities

    @cached_property
    def stem_df(self) -> dict[str, float]:
        """The expected share of documents whose body holds each content stem (Poisson
        approximation over a 275-word body): how queries of rare, medium and common words
        are chosen."""
        per_stem: dict[str, float] = {}
        for word in self.content_words:
            stem = analysis.stem(word)
            per_stem[stem] = per_stem.get(stem, 0.0) + self.probability[word]
        return {stem: 1 - math.exp(-275 * p) for stem, p in per_stem.items()}


def _lima_time(rng: random.Random, day: date) -> str:
    moment = datetime(day.year, day.month, day.day, rng.randrange(6, 23), rng.randrange(60),
                      rng.randrange(60))
    return moment.isoformat() + "-05:00"


class Generator:
    """Documents one by one, deterministic for a seed and a vocabulary."""

    def __init__(self, vocabulary: Vocabulary, seed: int = SEED) -> None:
        self.v = vocabulary
        self.rng = random.Random(seed + 1)
        self.recent: list[IndexDocument] = []  # candidates to copy for near-duplicates

    def _pick(self, cum: list[float]) -> int:
        return bisect.bisect(cum, self.rng.random() * cum[-1])

    def _words(self, n: int) -> list[str]:
        return self.rng.choices(self.v.words, cum_weights=self.v.cum_weights, k=n)

    def _sentence(self, length: int, inserts: Sequence[str]) -> str:
        words = self._words(length)
        for insert in inserts:
            words.insert(self.rng.randrange(len(words) + 1), insert)
        if self.rng.random() < 0.3:
            words[self.rng.randrange(len(words))] += ","
        first = words[0]
        words[0] = first[0].upper() + first[1:]
        return " ".join(words) + "."

    def document(self, number: int) -> IndexDocument:
        rng, v = self.rng, self.v
        if self.recent and rng.random() < DUPLICATE:
            return self._near_copy(number, rng.choice(self.recent))
        source = v.sources[self._pick(v.source_cum)]
        url = f"https://{source}.example.pe/noticia/{number}"
        chosen = {self._pick(v.entity_cum) for _ in range(rng.randint(1, 6))}
        entities = [v.entities[i] for i in sorted(chosen)]
        crimes = sorted({v.crimes[self._pick(v.crime_cum)]
                         for _ in range(rng.choice((0, 1, 1, 1, 2, 2, 3)))})
        used: dict[str, set[str]] = {e.id: set() for e in entities}

        def mention(entity: Entity) -> str:
            surface = rng.choice(entity.surfaces) if rng.random() < 0.4 else entity.name
            used[entity.id].add(surface)
            return surface

        title_inserts = [mention(entities[0])]
        if crimes:
            title_inserts.append(rng.choice(CRIME_TYPES[crimes[0]]))
        title_length = rng.randint(8, 14) - sum(len(t.split()) for t in title_inserts)
        title = self._sentence(max(title_length, 3), title_inserts)[:-1]

        target = rng.randint(150, 400)
        paragraphs: list[str] = []
        sentences: list[str] = []
        count = written = 0
        while count < target:
            inserts: list[str] = []
            if written < len(entities):  # each entity at least once
                inserts.append(mention(entities[written]))
            elif entities and rng.random() < 0.4:
                inserts.append(mention(rng.choice(entities)))
            if crimes and rng.random() < 0.15:
                inserts.append(rng.choice(CRIME_TYPES[rng.choice(crimes)]))
            if rng.random() < 0.2:
                inserts.append(COLLOCATIONS[self._pick(v.collocation_cum)])
            if rng.random() < 0.08:
                inserts.append(str(rng.choice((rng.randrange(2, 60), rng.randrange(2010, 2026)))))
            sentence = self._sentence(rng.randint(7, 20), inserts)
            sentences.append(sentence)
            written += 1
            count += sentence.count(" ") + 1
            if len(sentences) >= rng.randint(3, 6):
                paragraphs.append(" ".join(sentences))
                sentences = []
        if sentences:
            paragraphs.append(" ".join(sentences))
        published = None
        if rng.random() >= UNDATED:
            published = _lima_time(rng, FIRST_DAY + timedelta(days=rng.randrange(DAYS)))
        doc = IndexDocument(
            id=document_id(url), url=url, source=source, title=title,
            text="\n\n".join(paragraphs), published=published, language="es",
            entities=[IndexEntity(e.id, e.name, e.kind, tuple(sorted(used[e.id])))
                      for e in entities],
            crime_types=crimes,
        )
        self.recent.append(doc)
        if len(self.recent) > 300:
            del self.recent[:100]
        return doc

    def _near_copy(self, number: int, original: IndexDocument) -> IndexDocument:
        """Another outlet's copy of `original`: other source and URL, a few words changed, a
        sentence added, published within two days; the same cluster."""
        rng, v = self.rng, self.v
        source = rng.choice([s for s in v.sources if s != original.source])
        url = f"https://{source}.example.pe/noticia/{number}"
        words = original.text.split(" ")
        for _ in range(max(1, len(words) // 50)):
            i = rng.randrange(len(words))
            if words[i].islower() and words[i].isalpha():
                words[i] = self._words(1)[0]
        text = " ".join(words) + "\n\n" + self._sentence(rng.randint(7, 15), ())
        published = original.published
        if published is not None:
            day = date.fromisoformat(published[:10]) + timedelta(days=rng.randrange(3))
            published = _lima_time(rng, day)
        return IndexDocument(
            id=document_id(url), url=url, source=source, title=original.title, text=text,
            published=published, language="es", entities=original.entities,
            crime_types=original.crime_types, cluster=original.cluster or original.id,
        )


def documents(n: int, seed: int = SEED, vocabulary: Vocabulary | None = None
              ) -> Iterator[IndexDocument]:
    generator = Generator(vocabulary or Vocabulary(seed), seed)
    for number in range(n):
        yield generator.document(number)


def batches(n: int, size: int = BATCH, seed: int = SEED,
            vocabulary: Vocabulary | None = None) -> Iterator[list[IndexDocument]]:
    """`n` documents in lists of `size` (the last one shorter)."""
    stream = documents(n, seed, vocabulary)
    while batch := list(itertools.islice(stream, size)):
        yield batch
