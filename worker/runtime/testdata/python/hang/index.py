# ?hang=1 awaits forever (the event loop stays free); ?wait=ms answers after
# that long; otherwise it answers at once.
import asyncio
import os


async def main(event, context):
    q = event.get("queryStringParameters") or {}
    if q.get("hang"):
        await asyncio.Event().wait()
    if q.get("wait"):
        print("waiting", q["wait"])
        await asyncio.sleep(int(q["wait"]) / 1000)
        print("done", q["wait"])
    return {"pid": os.getpid()}
