#!/usr/bin/env bash
# The test suite on a fresh machine: set up .venv, then run pytest.
# Real MNIST/Fashion-MNIST tests use $CTNN_DATA (or ../shared/data when it exists).
CTNN_EXTRAS=test,distributed source "$(dirname "$0")/_venv.sh"
if [ -z "${CTNN_DATA:-}" ] && [ -d ../shared/data ]; then
  export CTNN_DATA="$(cd ../shared/data && pwd)"
fi
exec .venv/bin/python -m pytest "$@"
