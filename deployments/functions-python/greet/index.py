# greet: the CloudBase GET example in Python. curl "http://localhost:8080/greet?name=CloudBase"
import json
import time


def main(event, context):
    # Get query parameters
    params = event.get("queryStringParameters") or {}
    name = params.get("name") or "Guest"

    return {
        "statusCode": 200,
        "body": json.dumps({
            "message": f"Hello, {name}!",
            "timestamp": int(time.time() * 1000),
        }),
    }
