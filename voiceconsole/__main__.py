"""``python -m voiceconsole``."""

import sys

from voiceconsole.cli import main

sys.exit(main())
