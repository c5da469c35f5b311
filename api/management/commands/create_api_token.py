from django.core.management.base import BaseCommand

from api.services import api_token_create


class Command(BaseCommand):
    help = "Print an API token for USER (the user is created if missing). Token is last."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        token, created = api_token_create(username=username)
        if created:
            self.stderr.write(f"created user {username}")
        self.stdout.write(f"API token for {username}: {token.key}")
