// users: the CloudBase RESTful example, routed on httpMethod and path. The
// route keeps its prefix (stripPrefix false, trigger path /users), so path is
// /users or /users/<id>.
const users = [
  { id: 1, name: 'User1' },
  { id: 2, name: 'User2' },
];

const notFound = {
  statusCode: 404,
  body: JSON.stringify({ error: 'Not Found' }),
};

exports.main = async (event) => {
  const { httpMethod, path } = event;

  // Route handling
  if (path === '/users' && httpMethod === 'GET') {
    // Get user list
    return {
      statusCode: 200,
      body: JSON.stringify(users),
    };
  }

  if (path.startsWith('/users/') && httpMethod === 'GET') {
    // Get single user
    const userId = Number(path.split('/')[2]);
    const user = users.find((u) => u.id === userId);
    if (!user) {
      return notFound;
    }
    return {
      statusCode: 200,
      body: JSON.stringify(user),
    };
  }

  // 404
  return notFound;
};
