from django.urls import path

from api import (
    drives,
    duplicates,
    freshness,
    health,
    jobs,
    media,
    mining,
    quality,
    scenes,
    search,
    searches,
    sets,
)

app_name = "api"
urlpatterns = [
    path("health/", health.HealthView.as_view(), name="health"),
    path("scenes/", scenes.SceneListView.as_view(), name="scene-list"),
    path("scenes/<str:scene_id>/", scenes.SceneDetailView.as_view(), name="scene-detail"),
    path(
        "scenes/<str:scene_id>/duplicates/",
        duplicates.SceneDuplicatesView.as_view(),
        name="scene-duplicates",
    ),
    path("drives/<str:drive_id>/", drives.DriveDetailView.as_view(), name="drive-detail"),
    path("ingest/", jobs.IngestView.as_view(), name="ingest"),
    path(
        "ingest/manifests/",
        freshness.IngestedManifestListView.as_view(),
        name="ingested-manifests",
    ),
    path("status/", freshness.StatusView.as_view(), name="status"),
    path("jobs/<int:job_id>/", jobs.JobDetailView.as_view(), name="job-detail"),
    path("media/<str:token>/<str:name>", media.media, name="media"),
    path("search/", search.SearchView.as_view(), name="search"),
    path("quality/gnss/", quality.GnssQualityView.as_view(), name="quality-gnss"),
    # Scene sets, versions and manifests (curation).
    path("sets/", sets.SceneSetListView.as_view(), name="set-list"),
    path("sets/<int:set_id>/", sets.SceneSetDetailView.as_view(), name="set-detail"),
    path("sets/<int:set_id>/items/", sets.SceneSetItemsView.as_view(), name="set-items"),
    path(
        "sets/<int:set_id>/items/<str:scene_id>/",
        sets.SceneSetItemDetailView.as_view(),
        name="set-item",
    ),
    path("sets/<int:set_id>/versions/", sets.VersionListView.as_view(), name="set-versions"),
    path(
        "sets/<int:set_id>/versions/<int:number>/",
        sets.VersionDetailView.as_view(),
        name="set-version",
    ),
    path(
        "sets/<int:set_id>/versions/<int:number>/excluded/",
        sets.VersionExcludedView.as_view(),
        name="set-version-excluded",
    ),
    path(
        "sets/<int:set_id>/versions/<int:number>/manifest",
        sets.VersionManifestView.as_view(),
        name="set-version-manifest",
    ),
    path(
        "sets/<int:set_id>/versions/<int:number>/diff",
        sets.VersionDiffView.as_view(),
        name="set-version-diff",
    ),
    path(
        "sets/<int:set_id>/versions/<int:number>/leakage",
        mining.VersionLeakageView.as_view(),
        name="set-version-leakage",
    ),
    path("sets/<int:set_id>/split/", mining.SceneSetSplitView.as_view(), name="set-split"),
    path(
        "mining/disengagements/",
        mining.DisengagementMiningView.as_view(),
        name="mining-disengagements",
    ),
    path("searches/", searches.SavedSearchListView.as_view(), name="saved-search-list"),
    path(
        "searches/<int:search_id>/",
        searches.SavedSearchDetailView.as_view(),
        name="saved-search-detail",
    ),
    path(
        "searches/<int:search_id>/hits/",
        freshness.SavedSearchHitsView.as_view(),
        name="saved-search-hits",
    ),
]
