"""Writes that belong to the API itself: the tokens clients authenticate with."""

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token


@transaction.atomic
def api_token_create(*, username: str) -> tuple[Token, bool]:
    """The user's API token, creating the user (without a password) if missing."""
    user, created = get_user_model().objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    token, _ = Token.objects.get_or_create(user=user)
    return token, created
