"""Who may change what in curation: the one rule, used by the services (which enforce
it), the API (which reports it as `can_edit`) and the web UI (which shows or hides the
controls). Any signed-in user reads every set and saved search."""


def can_edit(user, owned) -> bool:
    """The owner of a set or saved search, or a staff user, may change it."""
    return bool(user and user.is_authenticated and (user.is_staff or user.pk == owned.owner_id))
