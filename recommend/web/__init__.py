"""The web page served at ``/``: catalogue, track, review queue, listener, map and sign-in, rendered on the
server from Jinja2 templates with plain JavaScript; every view calls the same service functions as the API."""
