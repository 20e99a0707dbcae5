"""Class-indexed memory banks (torch only)."""
from .class_memory_bank import ClassMemoryBank
from .distributed import all_gather_rows

__all__ = ['ClassMemoryBank', 'all_gather_rows']
