"""`python -m lambda_runtime [HANDLER]` (as Lambda runs it through `bootstrap`); `--help`, `--version`."""

import sys

from lambda_runtime.main import main

sys.exit(main())
