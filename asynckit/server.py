"""Run the local JSON API from a terminal, until Ctrl-C.

    python -m asynckit.server --port 8000 --latency 0.1 --error-rate 0.1 --seed 1

It is the server that ``asynckit.start_server()`` runs in a notebook, on 127.0.0.1; ``--help``
lists the settings.
"""

import sys

from ._server import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
