"""`python -m bot` is the `complaint-bot` command."""

import signal
import sys

# Until the desk installs its own handler, SIGTERM means "stop before starting": nothing has
# been fetched or sent yet, so a clean exit 0 is the truth (the default would report -15).
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

from bot.cli import main  # noqa: E402 - after the handler, so a SIGTERM during imports is clean

sys.exit(main())
