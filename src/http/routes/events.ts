/**
 * `GET /cairn/v1/events/stream`: the live event stream as Server-Sent Events (docs/events.md).
 * The query and the resume point are checked before the response starts, so a bad request gets
 * the usual error envelope; then the reply is handed to EventStream (src/events/stream.ts).
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WixError } from '../../errors.js';
import { EVENT_TYPES } from '../../events/outbox.js';
import type { EventStream, StreamFilter } from '../../events/stream.js';
import { SCOPES } from '../../auth/scopes.js';
import { requireScope } from '../guard.js';
import { cairnSchemas as S } from '../schemas/cairn.js';

export interface EventRoutesOptions {
  stream: EventStream;
}

const KNOWN_TYPES = new Set(EVENT_TYPES);

function single(query: Record<string, unknown>, name: string): string | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new WixError('WDE0080', `${name} must be given once`);
  return v;
}

function parseSeq(v: string, name: string): number {
  const n = /^\d{1,16}$/.test(v.trim()) ? Number(v.trim()) : NaN;
  if (!Number.isSafeInteger(n)) throw new WixError('WDE0080', `${name} must be an event id (a non-negative integer), got ${JSON.stringify(v)}`);
  return n;
}

/** The filter and resume point of a stream request; throws WixError for anything invalid. */
export function streamRequest(req: FastifyRequest): { filter: StreamFilter; after: number | undefined } {
  const query = (req.query ?? {}) as Record<string, unknown>;
  const filter: StreamFilter = {};
  const collectionId = single(query, 'dataCollectionId');
  if (collectionId !== undefined) {
    if (collectionId === '') throw new WixError('WDE0001', 'dataCollectionId must be a non-empty string');
    filter.collectionId = collectionId;
  }
  const rawTypes = query.types;
  if (rawTypes !== undefined) {
    const list = (Array.isArray(rawTypes) ? rawTypes : [rawTypes]).flatMap((t) => String(t).split(',')).map((t) => t.trim()).filter((t) => t !== '');
    const unknown = list.filter((t) => !KNOWN_TYPES.has(t));
    if (unknown.length > 0) {
      throw new WixError('WDE0080', `Unknown event type ${JSON.stringify(unknown[0])}; known types: ${EVENT_TYPES.join(', ')}`, { unknownTypes: unknown });
    }
    if (list.length === 0) throw new WixError('WDE0080', `types must name at least one event type: ${EVENT_TYPES.join(', ')}`);
    filter.types = new Set(list);
  }
  // EventSource sends Last-Event-ID on reconnect, to the same URL: the header wins over ?after.
  const header = req.headers['last-event-id'];
  const lastEventId = Array.isArray(header) ? header[0] : header;
  const afterParam = single(query, 'after');
  let after: number | undefined;
  if (lastEventId !== undefined && lastEventId.trim() !== '') after = parseSeq(lastEventId, 'Last-Event-ID');
  else if (afterParam !== undefined) after = parseSeq(afterParam, 'after');
  return { filter, after };
}

export async function eventRoutes(app: FastifyInstance, { stream }: EventRoutesOptions): Promise<void> {
  // The stream carries every item's data: for keys that may manage webhooks (the admin key has it).
  requireScope(app, () => [SCOPES.webhooks]);
  app.get('/events/stream', { schema: S.stream }, async (req, reply) => {
    const { filter, after } = streamRequest(req);
    reply.hijack();
    const res = reply.raw;
    const begin = () => {
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        // nginx and similar proxies would otherwise buffer the stream
        'x-accel-buffering': 'no',
      });
      res.flushHeaders();
      req.socket.setNoDelay(true);
    };
    let opened: boolean;
    try {
      // The head goes out once the starting point is fixed (see EventStream.open).
      opened = await stream.open(res, filter, after, begin);
    } catch (e) {
      req.log.error({ err: e }, 'event stream failed to start');
      if (res.headersSent) res.destroy();
      else sendRaw(res, 500, { message: 'Internal error', details: { applicationError: { code: 'WDE0053', description: 'Internal error' } } });
      return;
    }
    // The server began closing while this request waited: as Fastify answers then.
    if (!opened && !res.headersSent) {
      const description = 'The server is shutting down';
      sendRaw(res, 503, { message: description, details: { applicationError: { code: 'UNAVAILABLE', description } } });
    }
  });
}

function sendRaw(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), connection: 'close' });
  res.end(text);
}
