"""`python -m lambda_runtime [HANDLER]`."""

import sys

from lambda_runtime.main import main

sys.exit(main())
