// A handler written for AWS Lambda behind an API Gateway HTTP API or a
// Function URL (payload 2.0), async as in AWS's examples.
exports.handler = async (event, context) => {
  const q = event.queryStringParameters || {};
  if (q.fail) throw new Error('declined by the handler');
  if (event.rawPath.endsWith('/plain')) {
    // A plain object: API Gateway answers 200 with it as JSON.
    return { message: 'plain', rawQueryString: event.rawQueryString };
  }
  const body = event.body == null ? Buffer.alloc(0) : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
  if (event.rawPath.endsWith('/binary')) {
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from(body).reverse().toString('base64'),
      isBase64Encoded: true,
    };
  }
  return {
    statusCode: 201,
    cookies: ['session=abc; Path=/; HttpOnly', 'theme=dark'],
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      version: event.version,
      routeKey: event.routeKey,
      rawPath: event.rawPath,
      rawQueryString: event.rawQueryString,
      cookies: event.cookies,
      tag: event.headers['x-tag'],
      query: event.queryStringParameters,
      http: event.requestContext.http,
      timeEpoch: event.requestContext.timeEpoch,
      requestId: event.requestContext.requestId,
      awsRequestId: context.awsRequestId,
      functionName: context.functionName,
      remaining: context.getRemainingTimeInMillis(),
      body: body.toString('utf8'),
    }),
  };
};
