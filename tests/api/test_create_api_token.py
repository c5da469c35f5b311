import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token


@pytest.mark.django_db
def test_create_api_token_creates_user_and_prints_token_last(capsys):
    call_command("create_api_token", "builder")
    token = capsys.readouterr().out.split()[-1]
    assert Token.objects.get(key=token).user.username == "builder"


@pytest.mark.django_db
def test_create_api_token_is_stable_for_existing_user(capsys):
    call_command("create_api_token", "builder")
    first = capsys.readouterr().out.split()[-1]
    call_command("create_api_token", "builder")
    assert capsys.readouterr().out.split()[-1] == first
