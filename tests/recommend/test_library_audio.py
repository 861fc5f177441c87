"""The audio route serves only library files: under an ingested folder and still the file ingest stored."""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import torch
from fastapi.testclient import TestClient
from sqlalchemy import select

from soundalike.ingest.db.models import Track
from soundalike.ingest.library import split_roots
from soundalike.ingest.pipeline import IngestOptions, ingest
from soundalike.recommend.api.app import create_app

from support.recommend_fixtures import Catalogue
from support.servers import LOOPBACK

SECRET = "root:x:0:0:root:/root:/bin/sh\n"


@pytest.fixture
def music(catalogue: Catalogue, library: Path, tmp_path: Path) -> Path:
    """Three real files and a symlink between two of them, ingested into the catalogue's database."""
    folder = tmp_path / "Live: 1999"
    folder.mkdir()
    for name in ("drone_00.wav", "drone_02.flac", "drone_04.ogg"):
        shutil.copy(library / "drone" / name, folder / name)
    (folder / "alias.wav").symlink_to(folder / "drone_00.wav")
    options = IngestOptions(settings=catalogue.settings, device=torch.device("cpu"), workers=1)
    report = ingest(catalogue.service.factory, [folder], options)
    assert (report.added, report.failed) == (4, 0)
    return folder


@contextmanager
def client(catalogue: Catalogue, **settings: object) -> Iterator[TestClient]:
    """The app on the catalogue's service with ``settings`` changed, reached on loopback."""
    changed = catalogue.settings.model_copy(update=settings)
    service = dataclasses.replace(catalogue.service, settings=changed)
    app = create_app(changed, service=service)
    app.state.service = service
    yield TestClient(app, base_url=LOOPBACK)


@pytest.fixture
def api(catalogue: Catalogue) -> Iterator[TestClient]:
    with client(catalogue) as running:
        yield running


def audio_of(api: TestClient, catalogue: Catalogue, path: Path, **headers: str) -> httpx.Response:
    with catalogue.service.factory() as session:
        track_id = session.scalars(select(Track.id).where(Track.path == str(path))).one()
    return api.get(f"/tracks/{track_id}/audio", headers=headers)


def refused(response: httpx.Response, reason: str) -> bool:
    """Whether the audio was refused with 404 JSON giving ``reason``, and none of the secret file came back."""
    return response.status_code == 404 and reason in response.json()["error"] and SECRET not in response.text


def test_library_files_and_symlinks_inside_the_library_are_served_with_ranges(
    api: TestClient, catalogue: Catalogue, music: Path
) -> None:
    data = (music / "drone_02.flac").read_bytes()
    whole = audio_of(api, catalogue, music / "drone_02.flac")
    assert whole.status_code == 200 and whole.content == data
    part = audio_of(api, catalogue, music / "drone_02.flac", Range="bytes=10-29")
    assert part.status_code == 206 and part.content == data[10:30]
    alias = audio_of(api, catalogue, music / "alias.wav")
    assert alias.status_code == 200 and alias.content == (music / "drone_00.wav").read_bytes()


def test_a_library_file_swapped_for_a_symlink_out_of_the_library_is_refused(
    catalogue: Catalogue, music: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_text(SECRET)
    shutil.copy(music / "drone_02.flac", outside / "same.flac")
    (music / "drone_00.wav").unlink()
    (music / "drone_00.wav").symlink_to(outside / "passwd")
    (music / "drone_02.flac").unlink()
    (music / "drone_02.flac").symlink_to(outside / "same.flac")
    with client(catalogue) as api:
        for name in ("drone_00.wav", "alias.wav", "drone_02.flac"):
            assert refused(audio_of(api, catalogue, music / name), "out of the ingested folders"), name
    with client(catalogue, follow_symlinks=True) as following:
        assert refused(audio_of(following, catalogue, music / "drone_00.wav"), "changed since it was ingested")
        same = audio_of(following, catalogue, music / "drone_02.flac")
        assert same.status_code == 200 and same.content == (outside / "same.flac").read_bytes()


def test_a_library_file_changed_in_place_is_refused_and_a_touched_one_served(
    api: TestClient, catalogue: Catalogue, music: Path
) -> None:
    flac = music / "drone_02.flac"
    data = bytearray(flac.read_bytes())
    data[-16:] = bytes(16)
    flac.write_bytes(data)
    assert refused(audio_of(api, catalogue, flac), "changed since it was ingested")
    (music / "drone_04.ogg").write_bytes((music / "drone_04.ogg").read_bytes() + b"x")
    assert refused(audio_of(api, catalogue, music / "drone_04.ogg"), "changed since it was ingested")
    wav = music / "drone_00.wav"
    later = wav.stat().st_mtime + 60
    os.utime(wav, (later, later))
    assert audio_of(api, catalogue, wav).status_code == 200
    wav.unlink()
    assert refused(audio_of(api, catalogue, music / "alias.wav"), "gone")


def test_stored_roots_split_on_the_separator_keep_folder_names_with_one() -> None:
    joined = os.pathsep.join(["/music/Live: 1999", "/srv/b", "/x:/y"])
    assert split_roots(joined) == ["/music/Live: 1999", "/srv/b", "/x", "/y"]
