/**
 * The one place errors become HTTP replies: a WixError answers with its status and the Wix error
 * envelope; Fastify's own client errors (bad JSON, body too large) are mapped to Wix codes; any
 * other error is a bug, logged in full and answered 500 with no detail.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WixError } from '../errors.js';
import { isIndexEntryTooLarge } from '../collections/indexes.js';

export function toWixError(error: FastifyError | Error): WixError | undefined {
  if (error instanceof WixError) return error;
  const fe = error as FastifyError;
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || fe.statusCode === 413) return new WixError('WDE0109', 'Payload is too large.');
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new WixError('WDE0080', 'Unsupported content type: send application/json');
  if (fe.code?.startsWith('FST_ERR_CTP') || fe.code === 'FST_ERR_VALIDATION') return new WixError('WDE0080', fe.message);
  if (fe.statusCode !== undefined && fe.statusCode >= 400 && fe.statusCode < 500) return new WixError('WDE0080', fe.message);
  // PostgreSQL refused an index entry (a b-tree entry holds at most about 2.7 KB): the write's
  // statement failed as a whole and its transaction rolled back, so nothing was written.
  if (isIndexEntryTooLarge(error)) {
    return new WixError('WDE0133', 'A value of an indexed field is too large to index (PostgreSQL: about 2.7 KB at most); nothing was written');
  }
  return undefined;
}

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (headers or URL over the size
 * limit, malformed HTTP): answered in the Wix envelope, then the connection is closed.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const description =
    status === 431 ? 'The request headers or URL are too large' : status === 408 ? 'The request timed out' : 'The HTTP request is malformed';
  const body = JSON.stringify(new WixError('WDE0080', description).toEnvelope());
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

/**
 * Errors Fastify's router answers before any handler runs (a URL that does not percent-decode, a
 * path parameter over maxParamLength): the Wix envelope, with the router's 4xx status.
 */
export function frameworkErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  const description =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A path parameter is too long' : error.code === 'FST_ERR_BAD_URL' ? 'The URL is not valid percent-encoded UTF-8' : 'The URL is invalid';
  void reply.status(status).send(new WixError('WDE0080', description).toEnvelope());
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const wix = toWixError(error);
    if (wix) {
      const status = (error as FastifyError).statusCode === 415 ? 415 : wix.status;
      return reply.status(status).send(wix.toEnvelope());
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.status(500).send({
      message: 'Internal error',
      details: { applicationError: { code: 'WDE0053', description: 'Internal error' } },
    });
  });

  app.setNotFoundHandler((request, reply) => {
    const description = `No endpoint ${request.method} ${request.url.split('?')[0]}`;
    return reply.status(404).send({ message: description, details: { applicationError: { code: 'NOT_FOUND', description } } });
  });
}
