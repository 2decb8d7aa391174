# echo: returns what it was called with, after a short random wait so that
# concurrent invocations interleave.
import asyncio
import random


async def main(event, context):
    await asyncio.sleep(random.random() * 0.005)
    return {
        "value": (event.get("queryStringParameters") or {}).get("v"),
        "body": event.get("body"),
        "requestId": context.request_id,
        "functionName": context["functionName"],
        "envId": context.env_id,
        "traceparent": context.traceparent,
        "remaining": context.get_remaining_time_in_millis(),
    }
