// Every byte value once, base64-encoded in an envelope.
exports.main = async () => {
  const bytes = Buffer.alloc(256);
  for (let i = 0; i < 256; i++) bytes[i] = i;
  return {
    statusCode: 200,
    headers: { 'Content-Type': 'image/png' },
    body: bytes.toString('base64'),
    isBase64Encoded: true,
  };
};
