"""Stage 2: embeddings of tracks and genre predictions."""
