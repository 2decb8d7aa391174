# process: the CloudBase POST example in Python.
# curl -X POST http://localhost:8080/process -H 'Content-Type: application/json' -d '{"userId": 123, "action": "update"}'
import base64
import json


async def main(event, context):
    body = event.get("body") or ""

    # Parse JSON request body; a body that is not JSON is the caller's mistake.
    try:
        text = base64.b64decode(body).decode() if event.get("isBase64Encoded") else body
        data = json.loads(text)
    except ValueError as err:
        return {
            "statusCode": 400,
            "body": json.dumps({"error": f"request body is not valid JSON: {err}"}),
        }

    return {
        "statusCode": 200,
        "body": json.dumps({"received": data, "processed": True}, ensure_ascii=False),
    }
