/**
 * The API description: `/openapi.json` is an OpenAPI 3.1 document generated from the schemas
 * attached to the routes, every API route is in it (under its public prefix, with its alias
 * named), every operation describes its input and reply, every `$ref` resolves; real requests and
 * replies, on each store, validate against the document's own schemas (ajv, JSON Schema
 * 2020-12); the enforced parts of the schemas answer with the services' codes; `/docs` renders
 * the document without any outside asset.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { STORE_NAMES } from './helpers/stores.js';
import { call, startServer, type TestServer } from './helpers/server.js';
import { PREFIX_ALIASES, registeredRoutes } from '../src/http/openapi.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
const API_PREFIXES = ['/wix-data/v2', '/_api/cloud-data/v2', '/data/v2', '/_api/data/v2', '/wix-data/v1', '/_api/data/v1', '/_api/cloud-data/v1', '/cms/v1/tasks', '/_api/autocms/v1/tasks', '/cairn/v1'];
const OPERATIONS_ROUTES = ['/healthz', '/metrics', '/openapi.json', '/docs'];

function openApiPath(url: string): string {
  let path = url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
  for (const [alias, canon] of PREFIX_ALIASES) if (path === alias || path.startsWith(`${alias}/`)) path = canon + path.slice(alias.length);
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

/** JSON pointer escaping of one segment. */
const seg = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

for (const storeName of STORE_NAMES) {
  describe(`OpenAPI document (${storeName})`, () => {
    let server: TestServer;
    let doc: any;
    let ajv: Ajv2020;

    before(async () => {
      server = await startServer(storeName, { runner: false });
      const r = await call(server.url, 'GET', '/openapi.json', undefined, { authorization: '' });
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
      doc = r.body;
      ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
      ajv.addSchema(doc, 'openapi.json');
    });
    after(async () => server?.close());

    /** Validates `value` against the schema at `pointer` (segments) in the document. */
    function check(value: unknown, ...pointer: string[]): void {
      const validate = ajv.getSchema(`openapi.json#/${pointer.map(seg).join('/')}`);
      assert.ok(validate, `no schema at ${pointer.join(' / ')}`);
      const ok = validate(value);
      assert.ok(ok, `${pointer.join(' ')}: ${JSON.stringify(validate.errors?.slice(0, 3))}\n${JSON.stringify(value).slice(0, 500)}`);
    }
    const reply = (path: string, method: string, value: unknown, status = '200') => check(value, 'paths', path, method, 'responses', status, 'content', 'application/json', 'schema');
    const request = (path: string, method: string, value: unknown) => check(value, 'paths', path, method, 'requestBody', 'content', 'application/json', 'schema');

    test('is OpenAPI 3.1 in shape, with the API key security scheme', () => {
      assert.equal(doc.openapi, '3.1.0');
      assert.equal(typeof doc.info?.title, 'string');
      assert.equal(typeof doc.info?.version, 'string');
      assert.ok(doc.paths && typeof doc.paths === 'object');
      assert.deepEqual(doc.components.securitySchemes.apiKey, { ...doc.components.securitySchemes.apiKey, type: 'apiKey', in: 'header', name: 'Authorization' });
      const ids = new Set<string>();
      for (const [path, item] of Object.entries<any>(doc.paths)) {
        assert.match(path, /^\//);
        for (const [method, op] of Object.entries<any>(item)) {
          assert.ok(METHODS.includes(method), `${method} ${path}`);
          assert.equal(typeof op.operationId, 'string');
          assert.ok(!ids.has(op.operationId), `duplicate operationId ${op.operationId}`);
          ids.add(op.operationId);
          assert.equal(typeof op.summary, 'string', `${method} ${path} has a summary`);
          assert.ok(op.responses?.['200'], `${method} ${path} has a 200 reply`);
          assert.ok(Array.isArray(op.security), `${method} ${path} names its security`);
          for (const p of op.parameters ?? []) {
            assert.ok(['path', 'query'].includes(p.in));
            assert.ok(p.schema, `${method} ${path} ${p.name} has a schema`);
            // Every path template segment is a path parameter and vice versa.
            if (p.in === 'path') assert.ok(path.includes(`{${p.name}}`), `${p.name} in ${path}`);
          }
          for (const name of path.match(/\{([^}]+)\}/g) ?? []) {
            assert.ok((op.parameters ?? []).some((p: any) => p.in === 'path' && `{${p.name}}` === name), `${method} ${path}: ${name} declared`);
          }
        }
      }
    });

    test('every registered API route is in the document, with a schema for its input and reply', () => {
      const routes = registeredRoutes(server.cairn.app).filter((r) => r.method !== 'HEAD');
      const apiRoutes = routes.filter((r) => OPERATIONS_ROUTES.includes(r.url) || API_PREFIXES.some((p) => r.url === p || r.url.startsWith(`${p}/`)));
      assert.ok(apiRoutes.length > 80, `found ${apiRoutes.length} API routes`);
      for (const r of apiRoutes) {
        assert.ok(r.schema, `${r.method} ${r.url} has a schema`);
        const path = openApiPath(r.url);
        const op = doc.paths[path]?.[r.method.toLowerCase()];
        assert.ok(op, `${r.method} ${r.url} is in the document as ${path}`);
        if (path !== r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/(.)\/$/, '$1')) {
          assert.ok(op['x-cairn-aliases']?.includes(r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/(.)\/$/, '$1')), `${r.method} ${r.url} named as an alias`);
        }
        // Input: a body schema, or parameters (routes that take none: list calls, health).
        const takesNothing = ['/healthz', '/metrics', '/openapi.json', '/docs', '/cairn/v1/webhooks', '/cairn/v1/keys'].includes(path) && r.method === 'GET';
        if (!takesNothing) assert.ok(op.requestBody?.content?.['application/json']?.schema || op.parameters?.length > 0, `${r.method} ${path} describes its input`);
        const ok = op.responses['200'].content;
        assert.ok(ok && Object.values<any>(ok)[0].schema, `${r.method} ${path} describes its reply`);
      }
      // Every public path of the README's tables, spot-checked.
      for (const [method, path] of [
        ['post', '/wix-data/v2/items'],
        ['get', '/wix-data/v2/items/{dataItemId}'],
        ['post', '/wix-data/v2/bulk/items/patch'],
        ['get', '/wix-data/v2/async-jobs/{jobId}/status'],
        ['delete', '/wix-data/v2/indexes'],
        ['post', '/cms/v1/tasks'],
        ['get', '/cms/v1/tasks/{taskId}'],
        ['post', '/cairn/v1/collections/{id}/sandbox'],
        ['get', '/cairn/v1/events/stream'],
        ['post', '/cairn/v1/webhooks/{id}/deliveries/replay'],
        ['delete', '/cairn/v1/keys/{id}'],
        ['post', '/wix-data/v2/backups/{backupId}/partial-restore'],
        ['get', '/wix-data/v2/backups/restorations'],
      ] as const) {
        assert.ok(doc.paths[path]?.[method], `${method} ${path}`);
      }
      assert.deepEqual(doc.paths['/wix-data/v2/items'].post['x-cairn-aliases'], ['/_api/cloud-data/v2/items']);
      assert.deepEqual(doc.paths['/cms/v1/tasks/{taskId}'].get['x-cairn-aliases'], ['/_api/autocms/v1/tasks/{taskId}']);
      assert.deepEqual(doc.paths['/wix-data/v2/backups'].post['x-cairn-aliases'], ['/_api/data/v2/backups', '/data/v2/backups']);
      // Alias paths are not listed on their own.
      assert.ok(!Object.keys(doc.paths).some((p) => p.startsWith('/_api/')));
    });

    test('security: public, key-scoped and collection-permission routes say so', () => {
      assert.deepEqual(doc.paths['/healthz'].get.security, []);
      assert.deepEqual(doc.paths['/cms/v1/tasks'].post.security, [{ apiKey: [] }]);
      assert.match(doc.paths['/cms/v1/tasks'].post.description, /SCOPE\.CAIRN\.TASKS/);
      assert.deepEqual(doc.paths['/wix-data/v2/items/query'].post.security, [{ apiKey: [] }, { memberToken: [] }, {}]);
      assert.deepEqual(doc.paths['/metrics'].get.security, [{ apiKey: [] }]);
    });

    test('every $ref resolves to a component', () => {
      const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
      assert.ok(refs.length > 10);
      for (const r of refs) {
        const m = /#\/components\/schemas\/([A-Za-z0-9_]+)"$/.exec(r);
        assert.ok(m, r);
        assert.ok(doc.components.schemas[m[1] as string], r);
      }
      assert.ok(doc.components.schemas.Error);
    });

    test('real requests and replies validate against the document', async () => {
      const url = server.url;
      const collection = { collection: { id: 'books', fields: [{ key: 'title', type: 'TEXT' }], permissions: { read: 'ANYONE', insert: 'ADMIN', update: 'ADMIN', remove: 'ADMIN' } } };
      request('/wix-data/v2/collections', 'post', collection);
      let r = await call(url, 'POST', '/wix-data/v2/collections', collection);
      assert.equal(r.status, 200);
      reply('/wix-data/v2/collections', 'post', r.body);

      const insert = { dataCollectionId: 'books', dataItem: { data: { title: 'Dune', year: 1965, when: { $date: '1965-08-01T00:00:00.000Z' } } } };
      request('/wix-data/v2/items', 'post', insert);
      r = await call(url, 'POST', '/wix-data/v2/items', insert);
      assert.equal(r.status, 200);
      reply('/wix-data/v2/items', 'post', r.body);
      const id = r.body.dataItem.id as string;

      r = await call(url, 'GET', `/wix-data/v2/items/${id}?dataCollectionId=books`);
      reply('/wix-data/v2/items/{dataItemId}', 'get', r.body);

      const bulk = { dataCollectionId: 'books', dataItems: [{ data: { _id: 'a', title: 'A' } }, { id: 'b', data: { title: 'B' } }, { data: { _id: 'a' } }], returnEntity: true };
      request('/wix-data/v2/bulk/items/insert', 'post', bulk);
      r = await call(url, 'POST', '/wix-data/v2/bulk/items/insert', bulk);
      assert.equal(r.body.bulkActionMetadata.totalFailures, 1);
      reply('/wix-data/v2/bulk/items/insert', 'post', r.body);

      const query = { dataCollectionId: 'books', query: { filter: { year: { $lt: 2000 } }, sort: [{ fieldName: 'title', order: 'ASC' }], paging: { limit: 10 } }, returnTotalCount: true };
      request('/wix-data/v2/items/query', 'post', query);
      r = await call(url, 'POST', '/wix-data/v2/items/query', query);
      assert.equal(r.body.dataItems.length, 1);
      reply('/wix-data/v2/items/query', 'post', r.body);

      const patch = { dataCollectionId: 'books', patches: [{ dataItemId: 'a', fieldModifications: [{ action: 'INCREMENT_FIELD', fieldPath: 'n', incrementFieldOptions: { value: 2 } }] }] };
      request('/wix-data/v2/bulk/items/patch', 'post', patch);
      r = await call(url, 'POST', '/wix-data/v2/bulk/items/patch', patch);
      reply('/wix-data/v2/bulk/items/patch', 'post', r.body);

      r = await call(url, 'POST', '/wix-data/v2/items/save', { dataCollectionId: 'books', dataItem: { id: 'c', data: { title: 'C' } } });
      reply('/wix-data/v2/items/save', 'post', r.body);
      r = await call(url, 'POST', '/wix-data/v2/items/count', { dataCollectionId: 'books' });
      reply('/wix-data/v2/items/count', 'post', r.body);
      r = await call(url, 'GET', '/wix-data/v2/collections');
      reply('/wix-data/v2/collections', 'get', r.body);
      r = await call(url, 'POST', '/wix-data/v2/indexes', { dataCollectionId: 'books', index: { name: 'by_title', fields: [{ path: 'title', order: 'ASC' }] } });
      assert.equal(r.status, 200);
      reply('/wix-data/v2/indexes', 'post', r.body);
      r = await call(url, 'GET', '/wix-data/v2/indexes?dataCollectionId=books');
      reply('/wix-data/v2/indexes', 'get', r.body);

      const task = { task: { type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'books', filter: { title: 'A' } } } };
      request('/cms/v1/tasks', 'post', task);
      r = await call(url, 'POST', '/cms/v1/tasks', task);
      assert.equal(r.status, 200);
      reply('/cms/v1/tasks', 'post', r.body);
      r = await call(url, 'GET', '/cms/v1/tasks');
      reply('/cms/v1/tasks', 'get', r.body);
      r = await call(url, 'POST', '/wix-data/v2/bulk/items/async-remove-by-filter', { dataCollectionId: 'books', filter: { title: 'B' } });
      reply('/wix-data/v2/bulk/items/async-remove-by-filter', 'post', r.body);
      r = await call(url, 'GET', `/wix-data/v2/async-jobs/${r.body.jobId}/status`);
      reply('/wix-data/v2/async-jobs/{jobId}/status', 'get', r.body);

      const webhook = { url: 'http://127.0.0.1:9/hook', events: ['wix.data.v2.data_item_created'] };
      request('/cairn/v1/webhooks', 'post', webhook);
      r = await call(url, 'POST', '/cairn/v1/webhooks', webhook);
      assert.equal(r.status, 200);
      reply('/cairn/v1/webhooks', 'post', r.body);
      r = await call(url, 'GET', `/cairn/v1/webhooks/${r.body.webhook.id}/deliveries`);
      reply('/cairn/v1/webhooks/{id}/deliveries', 'get', r.body);

      const key = { name: 'ci', scopes: ['SCOPE.DC-DATA.READ'] };
      request('/cairn/v1/keys', 'post', key);
      r = await call(url, 'POST', '/cairn/v1/keys', key);
      reply('/cairn/v1/keys', 'post', r.body);
      r = await call(url, 'GET', '/cairn/v1/keys');
      reply('/cairn/v1/keys', 'get', r.body);

      r = await call(url, 'POST', '/wix-data/v2/backups', {});
      reply('/wix-data/v2/backups', 'post', r.body);
      // No runner in this server: the backup is taken here.
      await server.cairn.backups.runPending();
      r = await call(url, 'GET', '/wix-data/v2/backups');
      assert.equal(r.body.backups[0].status, 'READY');
      reply('/wix-data/v2/backups', 'get', r.body);
      const restore = { restorationCollections: [{ dataCollectionId: 'books', restoreDestination: { dataCollectionId: 'books2', displayName: 'Books 2' } }] };
      request('/wix-data/v2/backups/{backupId}/partial-restore', 'post', restore);
      r = await call(url, 'POST', `/wix-data/v2/backups/${r.body.backups[0].id}/partial-restore`, restore);
      reply('/wix-data/v2/backups/{backupId}/partial-restore', 'post', r.body);
      await server.cairn.backups.runPending();
      r = await call(url, 'GET', '/wix-data/v2/backups/restorations');
      assert.equal(r.body.restorations[0].status, 'COMPLETED');
      reply('/wix-data/v2/backups/restorations', 'get', r.body);

      // Errors: the envelope, for a 404 and a 400.
      r = await call(url, 'POST', '/wix-data/v2/items/get', { dataCollectionId: 'nope', dataItemId: 'x' });
      assert.equal(r.status, 404);
      reply('/wix-data/v2/items/get', 'post', r.body, '4XX');
      r = await call(url, 'POST', '/wix-data/v2/items', [1]);
      assert.equal(r.status, 400);
      reply('/wix-data/v2/items', 'post', r.body, '4XX');
      r = await call(url, 'GET', '/healthz');
      reply('/healthz', 'get', r.body);
    });

    test('the enforced parts of the schemas answer with the services’ codes', async () => {
      const url = server.url;
      // A body that is not an object: WDE0080, as paramsOf answers it.
      let r = await call(url, 'POST', '/wix-data/v2/items/query', '"x"');
      assert.equal(r.status, 400);
      assert.equal(r.body.details.applicationError.code, 'WDE0080');
      assert.equal(r.body.details.applicationError.description, 'The request body must be a JSON object');
      // .r that is not base64url (and given twice): WDE0080.
      r = await call(url, 'GET', '/wix-data/v2/items/query?.r=%7B%7D');
      assert.equal(r.body.details.applicationError.code, 'WDE0080');
      r = await call(url, 'GET', '/wix-data/v2/items/query?.r=e30&.r=e30');
      assert.equal(r.body.details.applicationError.code, 'WDE0080');
      // A valid .r still works: {"dataCollectionId":"books"}.
      r = await call(url, 'GET', `/wix-data/v2/items/query?.r=${Buffer.from(JSON.stringify({ dataCollectionId: 'books' })).toString('base64url')}`);
      assert.equal(r.status, 200);
      // The keys route answers a body that is not an object with WDE0075, as KeyService does.
      r = await call(url, 'POST', '/cairn/v1/keys', '[1]');
      assert.equal(r.status, 400);
      assert.equal(r.body.details.applicationError.code, 'WDE0075');
      // Webhook url and events types.
      r = await call(url, 'POST', '/cairn/v1/webhooks', { url: 5, events: ['*'] });
      assert.equal(r.body.details.applicationError.code, 'WDE0080');
      r = await call(url, 'POST', '/cairn/v1/webhooks', { url: 'http://127.0.0.1:9/', events: '*' });
      assert.equal(r.body.details.applicationError.code, 'WDE0080');
      // Nothing is coerced: a number where the service wants a string still gets the service's code.
      r = await call(url, 'POST', '/wix-data/v2/items/query', { dataCollectionId: 123 });
      assert.equal(r.body.details.applicationError.code, 'WDE0001');
    });

    test('/docs is a self-contained page that loads openapi.json', async () => {
      const res = await fetch(`${server.url}/docs`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
      const html = await res.text();
      assert.match(html, /fetch\('openapi\.json'\)/);
      // No outside asset: every src/href is relative or a fragment.
      for (const m of html.matchAll(/(?:src|href)=["']([^"']+)["']/g)) assert.doesNotMatch(m[1] as string, /^(https?:)?\/\//, m[0]);
    });
  });
}
