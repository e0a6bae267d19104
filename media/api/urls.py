from django.urls import path

from annotator.api.routers import ApiRouter
from media.api import task_views, views

router = ApiRouter()
router.register(r"projects/(?P<project_pk>[0-9]+)/imports", views.ImportViewSet, basename="project-import")
router.register(r"projects/(?P<project_pk>[0-9]+)/uploads", views.UploadViewSet, basename="project-upload")

urlpatterns = [
    *router.urls,
    path("tasks/<int:task_pk>/media", task_views.TaskMediaView.as_view(), name="task-media"),
    path("tasks/<int:task_pk>/frames", task_views.FrameListView.as_view(), name="task-frames"),
    path("tasks/<int:task_pk>/frames/<int:index>", task_views.FrameImageView.as_view(), name="task-frame-image"),
    path("tasks/<int:task_pk>/video/manifest", task_views.VideoManifestView.as_view(), name="task-video-manifest"),
    path(
        "tasks/<int:task_pk>/video/frame-timetable",
        task_views.FrameTimetableView.as_view(),
        name="task-video-frame-timetable",
    ),
    path("media/download", task_views.DownloadView.as_view(), name="media-download"),
]
