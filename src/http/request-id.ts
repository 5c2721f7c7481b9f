/**
 * Request ids: every request gets one, logged on each of its log lines (pino's `reqId`, through
 * Fastify's per-request child logger) and echoed in the `x-request-id` response header, so a
 * client's report, a proxy's log and Cairn's log line up. An incoming `x-request-id` is kept when
 * it is short and made of safe characters (a proxy or client that already names its requests);
 * anything else is replaced, never echoed, so a header cannot inject text into logs or replies.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

export const REQUEST_ID_HEADER = 'x-request-id';

/** Letters, digits and `. _ : -`, 1 to 128 characters: UUIDs, ULIDs, trace ids and the like. */
const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Fastify's `genReqId`: the caller's id when it is safe, else a random UUID. */
export function genReqId(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && SAFE_ID.test(given) ? given : randomUUID();
}

/**
 * Echoes the id on every reply. Set on the raw response, so replies written outside Fastify's
 * reply (the hijacked event stream's writeHead) carry it as well.
 */
export function installRequestId(app: FastifyInstance): void {
  app.addHook('onRequest', (req, reply, done) => {
    reply.raw.setHeader(REQUEST_ID_HEADER, req.id);
    done();
  });
}
