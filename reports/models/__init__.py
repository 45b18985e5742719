from .ledger import FrozenMonth, FrozenRow  # noqa: F401
