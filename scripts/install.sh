#!/usr/bin/env bash
# Installs Soundalike into ./.venv with the system packages it uses.
#   bash scripts/install.sh          runtime with the demo: fluidsynth + soundfont, a regular install with [demo]
#   bash scripts/install.sh --dev    an editable install with dev tools, PostgreSQL 15 (started, test role and database),
#                                    Debian's Chromium with its driver for the web page's browser tests,
#                                    and supysonic (a real Subsonic server) for the sync tests
set -euo pipefail
cd "$(dirname "$0")/.."

DEV=0
[[ "${1:-}" == "--dev" ]] && DEV=1
SUDO=""
[[ "$(id -u)" != "0" ]] && SUDO="sudo"

APT_PACKAGES=(fluidsynth fluid-soundfont-gm)
(( DEV )) && APT_PACKAGES+=(postgresql chromium chromium-driver supysonic python3-waitress mpd)
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${APT_PACKAGES[@]}" >/dev/null

if (( DEV )); then
    cluster_version="$(ls /etc/postgresql | sort -V | tail -1)"
    $SUDO pg_ctlcluster "$cluster_version" main start 2>/dev/null || true
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
    $SUDO su postgres -c "psql -tAc \"select 1 from pg_roles where rolname='tester'\"" | grep -q 1 \
        || $SUDO su postgres -c "psql -q -c \"create role tester login password 'tester' superuser\""
    $SUDO su postgres -c "psql -tAc \"select 1 from pg_database where datname='soundalike_test'\"" | grep -q 1 \
        || $SUDO su postgres -c "createdb -O tester soundalike_test"
fi

# pip and every package at the version the test suite passed with (pyproject.toml keeps the supported ranges).
# Refresh after a green run in a fresh install with the bench extra:
#   .venv/bin/pip freeze --all --exclude-editable | sed 's/+cpu$//' > scripts/constraints.txt
CONSTRAINTS=(-c scripts/constraints.txt)
[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/python -m pip install -q "${CONSTRAINTS[@]}" --upgrade pip
# The CPU build of torch first: a bare requirement would pull a multi-GB CUDA build.
.venv/bin/python -m pip install -q "${CONSTRAINTS[@]}" torch==2.13.0
if (( DEV )); then
    .venv/bin/python -m pip install -q "${CONSTRAINTS[@]}" -e ".[dev,postgres,demo]"
else
    .venv/bin/python -m pip install -q "${CONSTRAINTS[@]}" ".[demo]"
fi
