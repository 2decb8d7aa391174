# users: the CloudBase RESTful example in Python, routed on httpMethod and
# path. The route keeps its prefix (stripPrefix false, trigger path /users),
# so path is /users or /users/<id>.
import json

users = [
    {"id": 1, "name": "User1"},
    {"id": 2, "name": "User2"},
]

not_found = {
    "statusCode": 404,
    "body": json.dumps({"error": "Not Found"}),
}


def main(event, context):
    method, path = event["httpMethod"], event["path"]

    # Get user list
    if path == "/users" and method == "GET":
        return {"statusCode": 200, "body": json.dumps(users)}

    # Get single user
    if path.startswith("/users/") and method == "GET":
        user_id = path.split("/")[2]
        user = next((u for u in users if str(u["id"]) == user_id), None)
        if user is None:
            return not_found
        return {"statusCode": 200, "body": json.dumps(user)}

    # 404
    return not_found
