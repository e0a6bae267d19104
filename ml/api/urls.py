from django.urls import path

from annotator.api.routers import ApiRouter
from ml.api import model_views, sam_views

router = ApiRouter()
router.register("sam/propagations", sam_views.PropagationViewSet, basename="sam-propagation")
router.register("ml/models", model_views.InferenceModelViewSet, basename="ml-model")
router.register("ml/inference-runs", model_views.InferenceRunViewSet, basename="ml-inference-run")
router.register("ml/inference-records", model_views.InferenceRecordViewSet, basename="ml-inference-record")
router.register("ml/auto-annotations", model_views.AutoAnnotationViewSet, basename="ml-auto-annotation")
router.register("ml/evaluations", model_views.EvaluationViewSet, basename="ml-evaluation")

urlpatterns = [
    path("sam/status", sam_views.SamStatusView.as_view(), name="sam-status"),
    path("sam/masks", sam_views.SamMaskView.as_view(), name="sam-masks"),
    path("sam/embeddings", sam_views.SamEmbeddingView.as_view(), name="sam-embeddings"),
    *router.urls,
]
