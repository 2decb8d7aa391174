// greet: the CloudBase GET example. curl "http://localhost:8080/greet?name=CloudBase"
exports.main = async (event) => {
  const { queryStringParameters } = event;

  // Get query parameters
  const name = queryStringParameters?.name || 'Guest';

  return {
    statusCode: 200,
    body: JSON.stringify({
      message: `Hello, ${name}!`,
      timestamp: Date.now(),
    }),
  };
};
