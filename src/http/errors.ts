/**
 * The one place errors become HTTP replies: a WixError answers with its status and the Wix error
 * envelope; Fastify's own client errors (bad JSON, body too large) are mapped to Wix codes; any
 * other error is a bug, logged in full and answered 500 with no detail.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { WixError } from '../errors.js';

export function toWixError(error: FastifyError | Error): WixError | undefined {
  if (error instanceof WixError) return error;
  const fe = error as FastifyError;
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || fe.statusCode === 413) return new WixError('WDE0109', 'Payload is too large.');
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new WixError('WDE0080', 'Unsupported content type: send application/json');
  if (fe.code?.startsWith('FST_ERR_CTP') || fe.code === 'FST_ERR_VALIDATION') return new WixError('WDE0080', fe.message);
  if (fe.statusCode !== undefined && fe.statusCode >= 400 && fe.statusCode < 500) return new WixError('WDE0080', fe.message);
  return undefined;
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
