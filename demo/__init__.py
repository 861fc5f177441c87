"""The demo: a catalogue of Debian recordings and a synthesised genre corpus, run through every stage.

Nothing in the product imports this package; the genre corpus needs the ``[demo]`` extra (music21).
"""
