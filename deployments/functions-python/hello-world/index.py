# hello-world: the first CloudBase HTTP access example in Python (trigger path
# /api/hello). The event carries the whole HTTP request; returning a plain
# dict sends it as 200 application/json.
import logging


def main(event, context):
    path = event["path"]  # HTTP request path, e.g. /api/hello
    http_method = event["httpMethod"]  # GET, POST, PUT, DELETE...
    # Also: headers (names lower-case), queryStringParameters, body (a
    # string), isBase64Encoded, requestContext (requestId, envId...).

    logging.info("hello-world called %s %s", path, http_method)

    return {"message": "success"}
