"""Helpers the tests share: real audio files, CLI runs, catalogues, servers and index builders."""
