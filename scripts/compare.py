"""Sigprop against the EP baselines: `ctnn compare` with the same arguments."""

import sys

from ctnn.cli import main

sys.exit(main(["compare", *sys.argv[1:]]))
