"""A handler that leaves a child process running in the runtime's process group."""

import subprocess
import sys


def spawn(event, context):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    return {"child": child.pid}
