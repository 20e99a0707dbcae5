"""Class-indexed memory banks (torch only)."""
from .class_memory_bank import ClassMemoryBank
from .distributed import all_gather_rows
from .prototypes import ClassPrototypes

__all__ = ['ClassMemoryBank', 'ClassPrototypes', 'all_gather_rows']
