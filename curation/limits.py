"""Documented limits of curation requests.

- `NAME_MAX`, `TEXT_MAX`: a set's or saved search's name (200 characters) and a
  description or note (10,000).
- `LABEL_MAX`: an item's label (64 characters).
- `MAX_SCENE_IDS_PER_REQUEST`: scene ids one add/remove request may name (10,000).
- `MAX_SEARCH_RESULTS`: scenes one `{"search": ...}` add may bring in: the search's own
  `limit` (default 50, at most 500, as for `POST search/`).
- `MAX_PRESIGN_SCENES`: a manifest with `presign` may cover at most 10,000 scenes: boto3
  signs about 1,000-3,000 URLs per second and a scene has up to 7 cameras, so larger
  versions would keep a request busy for minutes. Larger exports use the plain manifest
  and the reader's own S3 credentials (or `manage.py export_set --presign`, unlimited).
- `settings.CATALOG_MAX_UNCONFIRMED_SCENES` (default 50,000): freezing or exporting a version
  with more scenes needs `confirm=true`, so a mis-click does not start a huge job; so
  does adding every scene matching `filters` when they match more.
- `MAX_SAMPLE`: a sample adds at most 10,000 scenes, and a search sampled from may ask for
  up to `MAX_SAMPLE_SEARCH_RESULTS` (10,000) results (beyond `POST search/`'s 500).
- `MAX_GROUP_SCENES`: scenes whose vectors one request compares in memory - a sample's
  or dedup's candidates plus the set's items, a split set, one side of a leakage report
  (200,000; 10^5 vectors of 512 dimensions take 200 MB).
- `MAX_REPORTED_SKIPS`: `skipped_duplicates` lists at most 10,000 entries; the count of
  all of them is `skipped_duplicates_count`.
- `MIN_SCORE_FLOOR`: thresholds of near-duplicate checks over groups (dedup, leakage,
  splits) are 0.9..1: below it nearly every pair of road scenes would count.
- `MAX_SPLIT_PARTS`: a split makes at most 10 parts; part names are 1..64 characters.
- `MAX_LEAKAGE_PAIRS`: a leakage page lists at most 10,000 pairs (default 1,000); `count`
  counts them all.
- `MAX_MINED_POSITIVES`: mining takes at most 1,000 disengagements per request (400
  otherwise: narrow the filters, e.g. by time); negatives per positive 0..10.
"""

from django.conf import settings

from catalog.errors import InvalidInput
from embeddings.search.request import MAX_LIMIT as SEARCH_LIMIT_MAX

NAME_MAX = 200
LABEL_MAX = 64
TEXT_MAX = 10_000
MAX_SCENE_IDS_PER_REQUEST = 10_000
MAX_SEARCH_RESULTS = SEARCH_LIMIT_MAX
MAX_PRESIGN_SCENES = 10_000
MAX_SAMPLE = 10_000
MAX_SAMPLE_SEARCH_RESULTS = 10_000
MAX_GROUP_SCENES = 200_000
MAX_REPORTED_SKIPS = 10_000
MIN_SCORE_FLOOR = 0.9
MAX_SPLIT_PARTS = 10
MAX_LEAKAGE_PAIRS = 10_000
DEFAULT_LEAKAGE_PAIRS = 1_000
MAX_MINED_POSITIVES = 1_000
MAX_NEGATIVES_PER_POSITIVE = 10


def clean_min_score(field: str, value: object) -> float:
    """A near-duplicate threshold for group checks: a number in MIN_SCORE_FLOOR..1."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput({field: "a number is required"})
    if not MIN_SCORE_FLOOR <= value <= 1:
        raise InvalidInput({field: f"must be between {MIN_SCORE_FLOOR} and 1"})
    return float(value)


def check_group_size(field: str, count: int) -> None:
    if count > MAX_GROUP_SCENES:
        raise InvalidInput(
            {field: f"{count} scenes is more than the {MAX_GROUP_SCENES} compared at once"}
        )


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
