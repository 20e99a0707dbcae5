"""Collect what cl_dense logs through mmengine's current logger (its stream handlers bind to
stdout at creation, so pytest's capture does not see them reliably)."""
import contextlib
import logging

from mmengine.logging import MMLogger


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def mmengine_messages():
    """``with mmengine_messages() as messages:`` -> list of the messages logged inside."""
    logger = MMLogger.get_current_instance()
    handler = _Collect()
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
