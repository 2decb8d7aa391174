# ?spin=1 blocks the event loop for good (a plain def never returning);
# otherwise it answers at once.
import os


def main(event, context):
    q = event.get("queryStringParameters") or {}
    if q.get("spin"):
        while True:
            pass
    return {"pid": os.getpid()}
