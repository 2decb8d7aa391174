# Logs from print, logging and stderr, before and after awaits.
import asyncio
import logging
import sys


async def main(event, context):
    m = event["queryStringParameters"]["m"]
    print("start", m)
    await asyncio.sleep(0.002)
    logging.info("after await %s", m)
    await asyncio.sleep(0)
    logging.warning("warn %s", m)
    print("error", m, file=sys.stderr)
    return m
