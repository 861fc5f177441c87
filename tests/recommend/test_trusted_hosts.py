"""The Host allow-list: loopback names, the listening interface and the operator's names; any other is 400."""

from __future__ import annotations

import httpx

from soundalike.recommend.api.app import create_app

from support.recommend_fixtures import Catalogue
from support.servers import running


def answers(catalogue: Catalogue, hosts: list[str], **settings: object) -> dict[str, httpx.Response]:
    """``GET /tracks/4`` over a real server on loopback, once with each ``Host`` header."""
    app = create_app(catalogue.settings.model_copy(update=settings), service=catalogue.service)
    with running(app) as port, httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        return {host: client.get("/tracks/4", headers={"Host": host}) for host in hosts}


def test_a_foreign_host_is_refused_with_json_and_loopback_names_are_answered(catalogue: Catalogue) -> None:
    loopback = ["127.0.0.1:8000", "localhost", "LOCALHOST:1", "localhost.", "[::1]:8000", "127.0.0.2"]
    foreign = ["evil.example", "evil.example:8000", "127.evil.example", "localhost.evil.example", "[::2]", ""]
    got = answers(catalogue, loopback + foreign)
    for host in loopback:
        assert got[host].status_code == 200 and got[host].json()["track_id"] == 4, host
    for host in foreign:
        assert got[host].status_code == 400, host
        assert got[host].json()["type"] == "HostNotAllowed" and "SOUNDALIKE_ALLOWED_HOSTS" in got[host].json()["error"]


def test_a_foreign_host_gets_no_health_and_no_page(catalogue: Catalogue) -> None:
    app = create_app(catalogue.settings, service=catalogue.service)
    with running(app) as port, httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        for path in ("/health", "/", "/tracks/4/audio", "/rest/ping"):
            response = client.get(path, headers={"Host": "evil.example"})
            assert response.status_code == 400 and response.json()["type"] == "HostNotAllowed", path
        assert client.get("/health").status_code == 200


def test_the_operator_adds_names_and_a_star_answers_any(catalogue: Catalogue) -> None:
    named = answers(
        catalogue, ["music.example:8000", "Music.Example", "evil.example"], allowed_hosts="music.example, nas"
    )
    assert [r.status_code for r in named.values()] == [200, 200, 400]
    assert answers(catalogue, ["evil.example"], allowed_hosts="*")["evil.example"].status_code == 200


def test_the_interface_the_server_listens_on_is_answered(catalogue: Catalogue) -> None:
    app = create_app(
        catalogue.settings.model_copy(update={"open_reads": True}), service=catalogue.service, host="192.0.2.10"
    )
    with running(app) as port, httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        assert client.get("/tracks/4", headers={"Host": f"192.0.2.10:{port}"}).status_code == 200
        assert client.get("/tracks/4", headers={"Host": "192.0.2.11"}).status_code == 400
