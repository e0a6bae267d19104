from django.urls import path

from annotator.api.routers import ApiRouter
from tasks.api import comment_views, views, workflow_views

router = ApiRouter()
router.register("tasks", views.TaskViewSet, basename="task")
router.register("tasks", workflow_views.TaskWorkflowViewSet, basename="task-workflow")
router.register("tasks", comment_views.TaskCommentViewSet, basename="task-comment")
router.register("comments", comment_views.CommentViewSet, basename="comment")
router.register("tags", views.TagViewSet, basename="tag")
router.register(r"projects/(?P<project_pk>[0-9]+)/batches", views.BatchViewSet, basename="project-batch")

urlpatterns = [
    path("reviews/next", workflow_views.ReviewQueueView.as_view(), name="review-next"),
    path("projects/<int:project_pk>/progress", views.ProjectProgressView.as_view(), name="project-progress"),
    *router.urls,
]
