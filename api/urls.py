from django.urls import path

from api import health, jobs, media, scenes

app_name = "api"
urlpatterns = [
    path("health/", health.HealthView.as_view(), name="health"),
    path("scenes/", scenes.SceneListView.as_view(), name="scene-list"),
    path("scenes/<str:scene_id>/", scenes.SceneDetailView.as_view(), name="scene-detail"),
    path("ingest/", jobs.IngestView.as_view(), name="ingest"),
    path("jobs/<int:job_id>/", jobs.JobDetailView.as_view(), name="job-detail"),
    path("media/<str:token>/<str:name>", media.media, name="media"),
]
