from rest_framework.routers import SimpleRouter


class ApiRouter(SimpleRouter):
    """Routes without a trailing slash, as the task-platform contract writes them
    (``/api/v1/tasks/next``). A trailing slash is also accepted (see TrailingSlashMiddleware)."""

    def __init__(self):
        super().__init__(trailing_slash=False)
