// tokens: a streamed response, token by token as an LLM answers, in
// server-sent events. curl -N "http://localhost:8080/tokens?text=hello+streaming+world"
// The body is an async generator: the gateway sends each yield at once,
// pulls the next only as fast as the client reads, and aborts
// context.signal when the client leaves.
exports.main = async (event, context) => {
  const text = event.queryStringParameters?.text || 'fngate streams this answer one token at a time';
  async function* tokens() {
    for (const token of text.split(/\s+/)) {
      if (context.signal.aborted) return;
      yield `data: ${JSON.stringify({ token })}\n\n`;
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    yield 'data: [DONE]\n\n';
  }
  return { statusCode: 200, headers: { 'content-type': 'text/event-stream' }, body: tokens() };
};
