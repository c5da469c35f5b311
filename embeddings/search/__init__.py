"""Scene search: text, "more like this" and attribute filters.

- `request.py`: what a search body may hold (validation and its OpenAPI schema);
- `run.py`: running a request (query vector, rankings, fusion);
- `plan.py`: exact scan or HNSW walk, per query;
- `vector_sql.py`: the SQL of both plans;
- `text.py`: the text-vector cache and the tag match;
- `results.py`: hits as results (scene summary and matched moment).
"""

from embeddings.search.request import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    LikeFrame,
    SearchRequest,
    request_schema,
)
from embeddings.search.run import SearchResponse, run_search

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "LikeFrame",
    "SearchRequest",
    "SearchResponse",
    "request_schema",
    "run_search",
]
