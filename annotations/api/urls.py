"""``/api/v1/tasks/{task_pk}/...``: annotations, history, predictions, video operations.

(The task routes themselves — ``/tasks``, ``/tasks/{id}``, locks, comments — are the tasks
app's.)"""

from django.urls import path

from annotations.api import views

T = "tasks/<int:task_pk>"

urlpatterns = [
    path(f"{T}/annotations", views.TaskAnnotationsView.as_view(), name="task-annotations"),
    path(f"{T}/annotations/draft", views.DraftView.as_view(), name="task-annotations-draft"),
    path(f"{T}/annotations/accept", views.AcceptPredictionView.as_view(), name="task-annotations-accept"),
    path(
        f"{T}/annotations/video/track-compositions",
        views.TrackCompositionsView.as_view(),
        name="task-track-compositions",
    ),
    path(f"{T}/annotations/<int:annotation_id>", views.AnnotationDetailView.as_view(), name="task-annotation"),
    path(
        f"{T}/annotations/<int:annotation_id>/video/frames",
        views.TrackFramesView.as_view(),
        name="task-annotation-track-frames",
    ),
    path(
        f"{T}/annotations/<int:annotation_id>/video/convert-to-bboxes",
        views.ConvertToBboxesView.as_view(),
        name="task-annotation-convert-to-bboxes",
    ),
    path(f"{T}/history", views.HistoryView.as_view(), name="task-history"),
    path(f"{T}/history/restore", views.RestoreRevisionView.as_view(), name="task-history-restore"),
    path(f"{T}/predictions", views.PredictionsView.as_view(), name="task-predictions"),
    path(f"{T}/predictions/reject", views.RejectPredictionView.as_view(), name="task-predictions-reject"),
]
