"""``python -m actors.cli``: the ``basis`` command."""

import sys

from actors.cli.main import main

sys.exit(main())
