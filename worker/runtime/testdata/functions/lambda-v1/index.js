// A handler written for AWS Lambda behind an API Gateway REST API (proxy
// integration, payload 1.0), in the callback style of AWS's examples.
exports.handler = function (event, context, callback) {
  const q = event.queryStringParameters || {};
  if (q.fail) {
    callback(new Error('declined by the handler'));
    return;
  }
  const body = event.body == null ? Buffer.alloc(0) : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
  if (event.path.endsWith('/binary')) {
    callback(null, {
      statusCode: 200,
      headers: { 'Content-Type': 'application/octet-stream' },
      body: Buffer.from(body).reverse().toString('base64'),
      isBase64Encoded: true,
    });
    return;
  }
  callback(null, {
    statusCode: 200,
    headers: { 'Content-Type': 'application/json' },
    multiValueHeaders: { 'Set-Cookie': ['a=1; Path=/', 'b=2; Path=/'] },
    body: JSON.stringify({
      resource: event.resource,
      path: event.path,
      httpMethod: event.httpMethod,
      tags: event.multiValueHeaders['X-Tag'],
      tag: event.headers['X-Tag'],
      query: event.queryStringParameters,
      multiQuery: event.multiValueQueryStringParameters,
      cookie: event.headers.Cookie,
      sourceIp: event.requestContext.identity.sourceIp,
      requestId: event.requestContext.requestId,
      awsRequestId: context.awsRequestId,
      functionName: context.functionName,
      remaining: context.getRemainingTimeInMillis(),
      body: body.toString('utf8'),
    }),
  });
};
