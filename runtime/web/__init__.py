"""The HTTP face of the desk: the Litestar app, its API and pages."""
