"""`python -m archsearch` runs the command line."""

import sys

from archsearch.cli import main

sys.exit(main())
