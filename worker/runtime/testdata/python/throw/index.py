def main(event, context):
    raise RuntimeError("boom: secret detail")
