"""Capture what the app logs during a test."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager


class _Collect(logging.Handler):
    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def captured_logs(*names: str, level: int = logging.NOTSET) -> Iterator[list[logging.LogRecord]]:
    """The records the loggers `names` get at `level` or above meanwhile.

    The app's loggers ("tdc", "app") do not propagate to the root logger: name them.
    """
    collector = _Collect(level)
    loggers = [logging.getLogger(name) for name in names]
    for logger in loggers:
        logger.addHandler(collector)
    try:
        yield collector.records
    finally:
        for logger in loggers:
            logger.removeHandler(collector)
