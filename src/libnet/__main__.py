"""`python3 -m libnet ...` is the `libnet` command line."""

import sys

from .cli import main

sys.exit(main())
