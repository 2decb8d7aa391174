// hello-world: the first CloudBase HTTP access example (trigger path /api/hello).
// The event carries the whole HTTP request; returning a plain object sends it
// as 200 application/json.
exports.main = async (event, context) => {
  const {
    path, // HTTP request path, e.g. /api/hello
    httpMethod, // GET, POST, PUT, DELETE...
    headers, // request headers, names lower-case
    queryStringParameters, // ?name=value
    body, // request body (string)
    isBase64Encoded, // whether body is base64
    requestContext, // requestId, envId, functionName...
  } = event;

  console.log('hello-world called', { path, httpMethod });

  return { message: 'success' };
};
