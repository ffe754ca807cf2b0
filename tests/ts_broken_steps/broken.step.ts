// A TypeScript step file with a syntax error on line 6: discovery reports it, the other steps serve.
export const config = {
  name: 'TsBroken',
  triggers: [{ type: 'http', method: 'GET', path: '/ts/broken' }],
  enqueues: [,,
}
