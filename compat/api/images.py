"""Pictures of image instances: windows, thumbnails and the original file (see ``compat.windows``)."""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions

from annotator.api.errors import ApiError
from compat import adapters, selectors, windows
from compat.api.base import CytomineErrorSerializer, CytomineObjectView, FirstRendererNegotiation, flag, integer
from media.models import Frame
from tasks.models import Task

NO_PICTURE = {409: OpenApiResponse(CytomineErrorSerializer, description="The image has no picture (yet).")}
PICTURE = {
    **{
        (200, media_type): OpenApiResponse(OpenApiTypes.BINARY, description="The picture.")
        for media_type in ("image/jpeg", "image/png", "image/tiff")
    },
    **NO_PICTURE,
}
ORIGINAL = {
    (200, "image/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The file as uploaded."),
    (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The file as uploaded."),
    **NO_PICTURE,
}


class _PictureView(CytomineObjectView):
    model = Task
    noun = "ImageInstance"
    required_permissions = {"get": "project.view"}
    # Pictures whatever Accept says; errors still go out as JSON.
    content_negotiation_class = FirstRendererNegotiation

    def object_queryset(self):
        return selectors.image_tasks(self.request.organization)

    def pixels(self):
        try:
            return adapters.frame_pixels(self.object, 0)
        except adapters.NoPicture as exc:
            raise ApiError(
                f"Image {self.object.pk} has no picture to serve: {exc}.", code="no_picture", status_code=409
            )

    def picture(self, window: windows.Window, pixels, ext: str, *, default_max: int | None = None) -> HttpResponse:
        for name in ("mask", "alphaMask", "draw"):
            if flag(self.request, name, False):
                raise exceptions.ValidationError(
                    {name: [f"{name} windows are not served here; fetch the annotations (showWKT=true) and draw them."]}
                )
        zoom = integer(self.request, "zoom", default=0, maximum=windows.MAX_ZOOM)
        max_size = integer(self.request, "maxSize", default=default_max, minimum=1, maximum=100_000)
        body = windows.render(pixels, window, zoom=zoom, max_size=max_size, ext=ext)
        response = HttpResponse(body, content_type=windows.MEDIA_TYPES[ext])
        response["X-Window"] = f"{window.x},{window.y},{window.w},{window.h}"
        return response


WINDOW_PARAMETERS = [
    OpenApiParameter("zoom", int, description="Scale down by 2^zoom (0 = full resolution)."),
    OpenApiParameter("maxSize", int, description="Largest side of the answer, in pixels."),
]


class WindowView(_PictureView):
    """``window-{x}-{y}-{w}-{h}.{ext}``: pixels from the top-left corner, clipped to the image."""

    @extend_schema(
        tags=["cytomine"], operation_id="cytomine_imageinstance_window", parameters=WINDOW_PARAMETERS, responses=PICTURE
    )
    def get(self, request, id, x, y, w, h, ext):
        pixels = self.pixels()
        height, width = pixels.shape[:2]
        try:
            window = windows.clip(int(x), int(y), int(w), int(h), width, height)
        except windows.EmptyWindow as exc:
            raise ApiError(str(exc), code="empty_window") from None
        return self.picture(window, pixels, ext)


class ThumbView(_PictureView):
    """``thumb.{ext}``: the whole image, at most ``maxSize`` (default 512) pixels wide or high."""

    @extend_schema(
        tags=["cytomine"], operation_id="cytomine_imageinstance_thumb", parameters=WINDOW_PARAMETERS, responses=PICTURE
    )
    def get(self, request, id, ext):
        pixels = self.pixels()
        height, width = pixels.shape[:2]
        return self.picture(windows.Window(0, 0, width, height), pixels, ext, default_max=512)


class DownloadView(_PictureView):
    """``download``: the original file of the image, as uploaded."""

    @extend_schema(tags=["cytomine"], operation_id="cytomine_imageinstance_download", responses=ORIGINAL)
    def get(self, request, id):
        frame = Frame.objects.select_related("asset").filter(task=self.object, index=0).first()
        if frame is None:
            raise ApiError(f"Image {self.object.pk} has no file yet.", code="no_picture", status_code=409)
        asset = frame.asset
        try:
            handle = default_storage.open(asset.file, "rb")
        except OSError:
            raise ApiError(f"The file of image {self.object.pk} cannot be read.", code="no_picture", status_code=409)
        return FileResponse(
            handle,
            as_attachment=True,
            filename=asset.original_name.rsplit("/", 1)[-1],
            content_type=asset.mime_type or "application/octet-stream",
        )
