# An async def that raises.
async def main(event, context):
    raise ValueError("rejected: secret detail")
