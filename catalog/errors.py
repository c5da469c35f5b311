"""Errors that services and selectors raise for bad input from any caller."""


class InvalidInput(ValueError):
    """Bad input, with messages keyed by the field/parameter at fault.

    The API turns it into a 400 naming the fields; CLI commands print it and exit 2.
    """

    def __init__(self, errors: dict[str, list[str] | str]):
        self.errors = {k: v if isinstance(v, list) else [v] for k, v in errors.items()}
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in self.errors.items()))


class NotFound(LookupError):
    """A referenced object (scene, set, version, ...) does not exist."""
