"""Schemathesis against ``soundalike serve`` for a fixed time: every phase (examples, coverage, fuzzing,
stateful), positive and negative data, every request with a write key.

The catalogue is the tests' synthetic one (72 tracks in 4 genres, MusiCNN tag probabilities for the moods,
an index), with real 1 s WAV files behind its first tracks so the audio route streams them; it is served by
``soundalike serve --workers 1`` in a process of its own. Schemathesis records every exchange in a HAR file;
this script reads it back and reports requests, statuses, the 503s, and every answer that breaks the API's
error contract (tests/support/error_contract.py: a 5xx other than a documented 503, an error body without
``error`` and ``type``) with the request that caused it. ``--tally`` reads a kept HAR file again.

    .venv/bin/python bench/bench_fuzz.py --seconds 600 --out /tmp/bench-fuzz
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench_service import prepare_load, serving

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from soundalike.ingest.settings import Settings  # noqa: E402

from support.error_contract import breach  # noqa: E402
from support.recommend_fixtures import make_catalogue  # noqa: E402

PHASES = "examples,coverage,fuzzing,stateful"
SEED = 23


def answer_text(response: dict[str, Any]) -> str:
    """The body of a HAR response as text."""
    return str((response.get("content") or {}).get("text") or "")


def kind(text: str) -> str:
    """The ``type`` (or ``/health``'s ``status``) of a JSON error body, else what the body starts with."""
    try:
        body = json.loads(text)
        return str(body.get("type") or body.get("status"))
    except (ValueError, AttributeError):
        return text[:40]


def tally(har: Path) -> dict[str, Any]:
    """Requests, statuses by code, 503 types, and each problem with the request that caused it."""
    entries = json.loads(har.read_text())["log"]["entries"]
    statuses: Counter[int] = Counter()
    refused: Counter[str] = Counter()
    operations: Counter[str] = Counter()
    problems = []
    for entry in entries:
        request, response = entry["request"], entry["response"]
        statuses[response["status"]] += 1
        operations[f"{request['method']} {urlsplit(request['url']).path.split('/')[1]}"] += 1
        headers = {h["name"]: h["value"] for h in response["headers"]}
        text = answer_text(response)
        if response["status"] == 503:
            refused[kind(text)] += 1
        found = breach(urlsplit(request["url"]).path, response["status"], headers, text)
        if found:
            problems.append(
                {
                    "problem": found,
                    "method": request["method"],
                    "url": request["url"],
                    "body": (request.get("postData") or {}).get("text", "")[:500],
                    "answer": text[:300],
                }
            )
    return {
        "requests": len(entries),
        "statuses": dict(sorted(statuses.items())),
        "503_types": dict(refused),
        "requests_by_route": dict(operations.most_common()),
        "problems": problems,
    }


def run(home: Path, seconds: int, workers: int) -> dict[str, Any]:
    """Build the catalogue in ``home``, serve it, fuzz it for ``seconds``; the tally and the run's facts."""
    url = f"sqlite:///{home / 'catalogue.db'}"
    catalogue = make_catalogue(Settings(home=home, database_url=url, embedding_model="mfcc-stats"))
    catalogue.service.close()
    key = prepare_load(home, url)
    har = home / "fuzz.har"
    with serving(home, url=url) as (port, _):
        command = [
            *(sys.executable, "-m", "schemathesis.cli", "run", f"http://127.0.0.1:{port}/openapi.json"),
            *("--phases", PHASES, "--max-time", str(seconds), "--workers", str(workers), "--seed", str(SEED)),
            *("--header", f"Authorization: Bearer {key}", "--checks", "not_a_server_error", "--continue-on-failure"),
            *("--request-timeout", "30", "--generation-database", "none", "--suppress-health-check", "all"),
            *("--report", "har", "--report-har-path", str(har), "--no-color"),
        ]
        started = time.monotonic()
        finished = subprocess.run(command, capture_output=True, text=True, cwd=home)
        wall = time.monotonic() - started
        load = os.getloadavg()
    (home / "schemathesis.log").write_text(finished.stdout + finished.stderr)
    return {
        "seconds": round(wall, 1),
        "schemathesis_exit": finished.returncode,
        "load_avg_1_5_15": [round(x, 1) for x in load],
    } | tally(har)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=600, help="Schemathesis's time budget (--max-time).")
    parser.add_argument("--workers", type=int, default=1, help="Schemathesis's concurrent workers.")
    parser.add_argument("--out", type=Path, help="Keep the catalogue, HAR file and log here (a new folder).")
    parser.add_argument("--tally", type=Path, help="Only count the exchanges of this HAR file of an earlier run.")
    args = parser.parse_args()
    if args.tally:
        print(json.dumps(tally(args.tally), indent=1))
        return
    with tempfile.TemporaryDirectory(prefix="bench-fuzz-") as folder:
        home = args.out or Path(folder)
        if args.out:
            args.out.mkdir(parents=True)
        report = run(home, args.seconds, args.workers)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
