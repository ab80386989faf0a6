"""Logging: one line per event on the terminal, full detail in data/logs/pesquisa.log."""

from __future__ import annotations

import logging
import logging.handlers
import sys

from pesquisa.settings import Settings


class OneLine(logging.Formatter):
    """Terminal format: the message only, never a traceback (those go to the log file)."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage().splitlines()[0] if record.getMessage() else ""
        if record.exc_info and record.exc_info[1] is not None:
            message += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        return f"{record.levelname.lower()}: {record.name}: {message}"


# Scrapy's and Twisted's own messages go to the log file only; on the terminal, our spiders
# say in one line what failed. So do the Elasticsearch client's retries: the index backend
# turns what finally failed into one coded line.
FILE_ONLY_LOGGERS = ("scrapy", "twisted", "py.warnings", "elastic_transport", "elasticsearch")


def _for_terminal(record: logging.LogRecord) -> bool:
    if getattr(record, "file_only", False):
        return False
    return not record.name.startswith(FILE_ONLY_LOGGERS) or record.levelno >= logging.CRITICAL


def setup_logging(settings: Settings, terminal_level: int = logging.WARNING) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.DEBUG if settings.log_level == "DEBUG" else logging.INFO)
    terminal = logging.StreamHandler(sys.stderr)
    terminal.setLevel(terminal_level)
    terminal.setFormatter(OneLine())
    terminal.addFilter(_for_terminal)
    root.addHandler(terminal)
    try:
        settings.log_path.parent.mkdir(parents=True, exist_ok=True)
        to_file = logging.handlers.RotatingFileHandler(
            settings.log_path, maxBytes=5_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError:
        return
    to_file.setLevel(getattr(logging, settings.log_level))
    to_file.setFormatter(
        logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    )
    root.addHandler(to_file)
    # elastic_transport logs every request at INFO: a search, a bulk, a refresh each
    for noisy in ("trafilatura", "htmldate", "apscheduler", "urllib3", "filelock",
                  "elastic_transport"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("scrapy").setLevel(logging.INFO)


def log_traceback(logger: logging.Logger, message: str) -> None:
    """Put the current exception's traceback in the log file, never on the terminal.

    Before logging is set up (a broken settings file) there is no file yet: then nothing.
    """
    if logging.getLogger().handlers:
        logger.error(message, exc_info=True, extra={"file_only": True})
