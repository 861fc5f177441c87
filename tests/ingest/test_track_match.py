"""The one matcher: path, then MusicBrainz recording id, then artist + title + duration within 2 s."""

from __future__ import annotations

import pytest

from soundalike.ingest.track_match import SongRef, TrackFacts, TrackMatcher, normalise

MBID = "5b11f4ce-a62d-471e-81fc-a69a8278c7da"
FACTS = [
    TrackFacts(1, 1, "/music/a/one.flac", MBID, "Björk", "Jóga", 305.0),
    TrackFacts(2, 1, "/music/b/one-copy.flac", MBID, "Björk", "Jóga", 305.0),
    TrackFacts(3, 3, "/music/a/two.flac", None, "The Band", "Song (Live)", 200.0),
    TrackFacts(4, 4, "/music/c/two.flac", None, "The Band", "Song (Live)", 240.0),
    TrackFacts(5, 5, "/music/d/untimed.ogg", None, "Solo", "Alone", None),
]


@pytest.fixture
def matcher() -> TrackMatcher:
    return TrackMatcher(FACTS)


def test_names_compare_without_case_accents_or_punctuation() -> None:
    assert normalise("  Björk — JÓGA!! ") == normalise("bjork joga") == "bjork joga"


def test_a_path_wins_and_a_duplicate_resolves_to_its_original(matcher: TrackMatcher) -> None:
    found = matcher.match(SongRef(paths=("/nowhere.flac", "/music/b/one-copy.flac"), artist="x", title="y"))
    assert (found.track_id, found.by) == (1, "path")


def test_a_musicbrainz_id_matches_whatever_the_names(matcher: TrackMatcher) -> None:
    found = matcher.match(SongRef(musicbrainz_id=MBID.upper(), artist="Someone", title="Else"))
    assert (found.track_id, found.by) == (1, "musicbrainz")


@pytest.mark.parametrize(("duration", "expected"), [(201.9, 3), (238.5, 4)])
def test_artist_and_title_pick_the_track_within_two_seconds(
    matcher: TrackMatcher, duration: float, expected: int
) -> None:
    found = matcher.match(SongRef(artist="the band", title="song live", duration=duration))
    assert (found.track_id, found.by) == (expected, "tags")


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        (SongRef(artist="The Band", title="Song (Live)"), "matches 2 tracks"),
        (SongRef(artist="The Band", title="Song (Live)", duration=220.0), "not 220 s long"),
        (SongRef(artist="Nobody", title="Nothing"), "unknown track 'Nobody' - 'Nothing'"),
        (SongRef(paths=("/x.flac",)), "no track with the path or MusicBrainz id of '/x.flac'"),
    ],
)
def test_an_unmatched_song_is_never_guessed_and_says_why(matcher: TrackMatcher, ref: SongRef, reason: str) -> None:
    found = matcher.match(ref)
    assert found.track_id is None
    assert reason in (found.reason or "")


def test_a_track_of_unknown_length_matches_by_name(matcher: TrackMatcher) -> None:
    assert matcher.match(SongRef(artist="Solo", title="Alone", duration=99.0)).track_id == 5
