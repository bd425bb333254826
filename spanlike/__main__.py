"""``python -m spanlike`` runs the command-line interface."""

import sys

from spanlike.cli import main

sys.exit(main())
