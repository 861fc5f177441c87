"""The HTTP API: an app factory, dependencies, schemas and one router per resource."""
