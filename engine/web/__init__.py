"""The HTTP face: the app, portal, desk, API, admin, public and supervision pages, templates and static files."""
