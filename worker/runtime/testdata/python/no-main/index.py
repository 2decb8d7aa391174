def handler(event, context):
    return "main is missing"
