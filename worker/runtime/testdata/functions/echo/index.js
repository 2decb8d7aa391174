// echo: returns what it was called with, after a short random wait so that
// concurrent invocations interleave.
exports.main = async (event, context) => {
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
  return {
    value: event.queryStringParameters?.v ?? null,
    body: event.body,
    requestId: context.requestId,
    functionName: context.functionName,
    envId: context.envId,
    traceparent: context.traceparent,
    remaining: context.getRemainingTimeInMillis(),
  };
};
