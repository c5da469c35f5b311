from django.contrib.auth.views import LogoutView
from django.urls import path

from frontend import views

app_name = "frontend"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("", views.search_page, name="search"),
    # Scene links are `/scenes/<scene_id>` without a trailing slash; accept both.
    path("scenes/<str:scene_id>", views.scene_page, name="scene"),
    path("scenes/<str:scene_id>/", views.scene_page),
    path("drives/<str:drive_id>", views.drive_page, name="drive"),
    path("drives/<str:drive_id>/", views.drive_page),
    path("vehicles/<str:vehicle_id>", views.vehicle_page, name="vehicle"),
    path("vehicles/<str:vehicle_id>/", views.vehicle_page),
    path("sets/", views.sets_page, name="sets"),
    path("sets/<int:set_id>/", views.set_page, name="set"),
    path("watches/", views.watches_page, name="watches"),
    path("quality/", views.quality_page, name="quality"),
    # Small JSON reads only the UI's scripts use (no API contract).
    path("ui/places.json", views.places_json, name="places"),
]
