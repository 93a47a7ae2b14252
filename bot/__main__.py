"""`python -m bot` is the `complaint-bot` command."""

import sys

from bot.cli import main

sys.exit(main())
