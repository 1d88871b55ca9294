"""The density benchmark (issue 6), runnable from a checkout:

    sudo unshare --net --mount python3 bench/density.py -n 1000 --plot bench/density.png

The same as the installed ``libnet bench``; the harness lives in
``libnet.benchmark.density`` so that the console script works outside the
repository.  See bench/README_density.md.
"""

import sys

from libnet.benchmark.density import main

if __name__ == "__main__":
    sys.exit(main())
