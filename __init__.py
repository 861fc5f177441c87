"""Soundalike: music feature extraction and retrieval (ingest -> embed -> index -> recommend)."""

__version__ = "0.1.0"
