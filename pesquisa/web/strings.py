"""Every string the web UI shows, in Spanish, in one place."""

from __future__ import annotations

UI: dict[str, str] = {
    "app_name": "Pesquisa",
    "tagline": "Crimen organizado y corrupción en la prensa y los boletines del Perú",
    "search_label": "Buscar en el archivo",
    "search_placeholder": 'p. ej. corrupción AND "lavado de activos"',
    "search_button": "Buscar",
    "sort_label": "Ordenar por",
    "sort_relevance": "relevancia",
    "sort_date": "fecha",
    "results_count": "{total} resultados",
    "results_one": "1 resultado",
    "no_results": "No se encontraron documentos para esta búsqueda.",
    "previous": "Anterior",
    "next": "Siguiente",
    "source": "Fuente",
    "published": "Publicado",
    "undated": "sin fecha",
    "original": "Ver página original",
    "document": "Documento",
    "entities": "Entidades mencionadas",
    "no_entities": "Aún no se detectaron entidades en este documento.",
    "kind_person": "Persona",
    "kind_organization": "Organización",
    "kind_place": "Lugar",
    "back": "Volver a la búsqueda",
    "help": "Operadores: AND, OR, NOT, \"frase exacta\", \"frase\"~5, prefijo*, "
    "title:, text:, source:",
    "error_title": "Algo salió mal",
    "error_query": "La búsqueda no es válida",
    "error_not_found": "No encontramos ese documento",
    "error_unavailable": "El índice no está disponible en este momento; intente de nuevo.",
    "error_internal": "Error interno. El detalle quedó registrado en el log del servidor.",
    "stats": "{documents} documentos en el índice",
    "footer": "Pesquisa es software libre. Los textos pertenecen a sus medios de origen.",
}
