"""``python -m deploy.cli …`` runs the ``obrador`` command line."""

import sys

from deploy.cli import main

sys.exit(main())
