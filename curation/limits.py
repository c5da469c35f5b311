"""Documented limits of curation requests.

- `NAME_MAX`, `TEXT_MAX`: a set's or saved search's name (200 characters) and a
  description or note (10,000).
- `MAX_SCENE_IDS_PER_REQUEST`: scene ids one add/remove request may name (10,000).
- `MAX_SEARCH_RESULTS`: scenes one `{"search": ...}` add may bring in: the search's own
  `limit` (default 50, at most 500, as for `POST search/`).
- `MAX_PRESIGN_SCENES`: a manifest with `presign` may cover at most 10,000 scenes: boto3
  signs about 1,000-3,000 URLs per second and a scene has up to 7 cameras, so larger
  versions would keep a request busy for minutes. Larger exports use the plain manifest
  and the reader's own S3 credentials (or `manage.py export_set --presign`, unlimited).
- `settings.CATALOG_MAX_UNCONFIRMED_SCENES` (default 50,000): freezing or exporting a version
  with more scenes needs `confirm=true`, so a mis-click does not start a huge job.
"""

from django.conf import settings

from catalog.errors import InvalidInput
from embeddings.search.request import MAX_LIMIT as SEARCH_LIMIT_MAX

NAME_MAX = 200
TEXT_MAX = 10_000
MAX_SCENE_IDS_PER_REQUEST = 10_000
MAX_SEARCH_RESULTS = SEARCH_LIMIT_MAX
MAX_PRESIGN_SCENES = 10_000


def require_confirmation(*, action: str, count: int, confirm: bool) -> None:
    """Raise InvalidInput (400, field `confirm`) for an unconfirmed action over the limit."""
    limit = settings.CATALOG_MAX_UNCONFIRMED_SCENES
    if count > limit and not confirm:
        raise InvalidInput(
            {
                "confirm": f"{action} {count} scenes is more than CATALOG_MAX_UNCONFIRMED_SCENES "
                f"({limit}); repeat the request with confirm=true to go ahead"
            }
        )


def check_presign(*, count: int) -> None:
    if count > MAX_PRESIGN_SCENES:
        raise InvalidInput(
            {
                "presign": f"presigned URLs are offered for versions of at most "
                f"{MAX_PRESIGN_SCENES} scenes (this one has {count}); download the manifest "
                "without presign and read the s3:// URIs with your own credentials"
            }
        )
