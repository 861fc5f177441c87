"""Database: declarative models, engine/session construction and migrations."""
