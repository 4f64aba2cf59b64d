"""``python -m lambda_runtime.emulator serve HANDLER`` = ``lambda-runtime serve HANDLER``."""

import sys

from lambda_runtime.emulator.cli import main

sys.exit(main())
