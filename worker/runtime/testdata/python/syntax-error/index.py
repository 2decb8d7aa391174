def main(event, context):
    return {"broken": }
