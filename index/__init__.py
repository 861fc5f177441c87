"""Stage 3: FAISS index, a rebuildable cache of the embeddings the database holds."""
