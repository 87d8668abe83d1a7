"""``python -m engine`` is the ``yangguang`` command."""

import sys

from engine.cli.main import main

sys.exit(main())
