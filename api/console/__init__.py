"""The web console: server-rendered pages for review and promotion over the same domain services
as the API. ``api.console.routes.install`` mounts it at ``/console``."""
