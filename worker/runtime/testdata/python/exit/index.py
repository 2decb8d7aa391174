# ?exit=1 ends the process in the middle of the call; otherwise it answers at
# once.
import os
import sys


def main(event, context):
    q = event.get("queryStringParameters") or {}
    if q.get("exit"):
        sys.exit(3)
    return {"pid": os.getpid()}
