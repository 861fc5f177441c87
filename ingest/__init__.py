"""Stage 1: files, tags, labels and listening events into SQL; audio into features."""
