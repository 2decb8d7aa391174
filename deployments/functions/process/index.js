// process: the CloudBase POST example.
// curl -X POST http://localhost:8080/process -H 'Content-Type: application/json' -d '{"userId": 123, "action": "update"}'
exports.main = async (event) => {
  const { body, isBase64Encoded } = event;

  // Parse JSON request body; a body that is not JSON is the caller's mistake.
  let data;
  try {
    const text = isBase64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
    data = JSON.parse(text);
  } catch (err) {
    return {
      statusCode: 400,
      body: JSON.stringify({ error: `request body is not valid JSON: ${err.message}` }),
    };
  }

  return {
    statusCode: 200,
    body: JSON.stringify({
      received: data,
      processed: true,
    }),
  };
};
