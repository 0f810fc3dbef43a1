#!/usr/bin/env bash
# The main job on a fresh machine: set up .venv, then train on the offline digits dataset.
source "$(dirname "$0")/_venv.sh"
exec .venv/bin/ctnn train --dataset digits --out runs/demo "$@"
