"""Tags from real flac/mp3/ogg/m4a files written by fixtures, and genre normalisation."""

from __future__ import annotations

from pathlib import Path

import pytest

from soundalike.ingest.tags import Tags, normalise_genre, parse_bpm, parse_mbid, read_tags, split_genres

from support.audio_factory import make_track, tone, write_tags, write_with_pyav

TRACK_ID = "6f1e8a2c-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
ARTIST_ID = "0383dadf-2a4e-4d10-a46a-e9e041da8eb3"
ALBUM_ID = "A1B2C3D4-0000-4111-8222-333344445555"
FULL_TAGS = {
    "title": "Night Drive",
    "artist": "The Examples",
    "album": "Test Pressing",
    "date": "2019-03-08",
    "genre": "Hip Hop; electronica / RnB",
    "bpm": "124",
    "musicbrainz_trackid": TRACK_ID,
    "musicbrainz_artistid": ARTIST_ID,
    "musicbrainz_albumid": ALBUM_ID,
}


@pytest.mark.parametrize("suffix", [".flac", ".mp3", ".ogg"])
def test_all_used_tags_are_read_from_each_format(tmp_path: Path, suffix: str) -> None:
    path = make_track(tmp_path / f"song{suffix}", "beat", seed=1, seconds=2.0, **FULL_TAGS)
    assert read_tags(path) == Tags(
        title="Night Drive",
        artist="The Examples",
        album="Test Pressing",
        year=2019,
        genres=("hip-hop", "electronic", "r&b"),
        bpm=124.0,
        musicbrainz_track_id=TRACK_ID,
        musicbrainz_artist_id=ARTIST_ID,
        musicbrainz_album_id=ALBUM_ID.lower(),
    )


def test_m4a_tags_are_read_through_the_same_keys(tmp_path: Path) -> None:
    path = write_with_pyav(tmp_path / "song.m4a", tone(2.0, 22050), 22050)
    write_tags(path, title="Apple Song", genre="Hip-Hop", bpm="97", musicbrainz_trackid=TRACK_ID)
    tags = read_tags(path)
    assert (tags.title, tags.genres, tags.bpm, tags.musicbrainz_track_id) == (
        "Apple Song",
        ("hip-hop",),
        97.0,
        TRACK_ID,
    )


def test_file_without_tags_gives_empty_tags(tmp_path: Path) -> None:
    assert read_tags(make_track(tmp_path / "bare.wav", "drone", seed=0, seconds=2.0)) == Tags()
    text = tmp_path / "notes.mp3"
    text.write_text("not audio")
    assert read_tags(text) == Tags()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("hiphop", "hip-hop"),
        ("Hip Hop", "hip-hop"),
        ("HIP-HOP", "hip-hop"),
        ("hip_hop", "hip-hop"),
        ("RnB", "r&b"),
        ("R&B", "r&b"),
        ("Electronica", "electronic"),
        ("  Drum  and   Bass ", "drum and bass"),
        ("Post-Rock", "post rock"),
    ],
)
def test_genre_spellings_collapse_to_one_name(raw: str, expected: str) -> None:
    assert normalise_genre(raw) == expected


def test_genre_lists_split_on_separators_and_drop_duplicates() -> None:
    assert split_genres(["Rock; Pop / hip hop, Hip-Hop", "rock|Jazz", " ; "]) == ("rock", "pop", "hip-hop", "jazz")


@pytest.mark.parametrize(
    ("raw", "expected"), [("120", 120.0), ("128.5", 128.5), ("96 BPM", 96.0), ("0", None), ("", None)]
)
def test_bpm_tag_values_are_parsed_or_dropped(raw: str, expected: float | None) -> None:
    assert parse_bpm(raw) == expected


def test_malformed_musicbrainz_ids_are_dropped() -> None:
    assert parse_mbid("not-a-uuid") is None
    assert parse_mbid(f" {TRACK_ID.upper()} ") == TRACK_ID
