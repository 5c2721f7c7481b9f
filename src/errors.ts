/**
 * The one error type of Cairn. Everything that can go wrong for a caller is a WixError with a
 * Wix error code; the HTTP layer turns it into the Wix error envelope:
 *   {message, details: {applicationError: {code, description, data?}}}
 * Anything that is not a WixError is a bug and answers 500 with no detail.
 *
 * The registry below is the single list of codes Cairn answers with, the HTTP status of each,
 * and what it means. docs/errors.md documents every one of them (a test checks both ways).
 */

export interface ErrorSpec {
  readonly status: number;
  readonly title: string;
}

export const ERROR_CODES = {
  WDE0001: { status: 400, title: 'Collection id must be a non-empty string' },
  WDE0002: { status: 400, title: 'Item id must be a string' },
  WDE0004: { status: 400, title: 'Item must be an object' },
  WDE0005: { status: 400, title: 'Bulk items are invalid' },
  WDE0006: { status: 400, title: 'Too many items in one bulk request' },
  WDE0007: { status: 400, title: 'Update needs a string _id' },
  WDE0009: { status: 400, title: 'Document is too large' },
  WDE0014: { status: 429, title: 'Request rate quota exceeded' },
  WDE0016: { status: 400, title: 'Filter must be an object' },
  WDE0019: { status: 400, title: 'A reference must name an item by its id' },
  WDE0020: { status: 400, title: 'Not a multi-reference field' },
  WDE0025: { status: 404, title: 'Collection not found' },
  WDE0027: { status: 403, title: 'Permission denied' },
  WDE0036: { status: 400, title: 'Parameter exceeds its maximum' },
  WDE0034: { status: 400, title: 'Parameter must be a non-negative number' },
  WDE0035: { status: 400, title: 'Parameter must be an integer' },
  WDE0053: { status: 500, title: 'Internal error' },
  WDE0056: { status: 400, title: 'Filter operand should be an object' },
  WDE0057: { status: 400, title: 'Filter operand should be an array' },
  WDE0058: { status: 400, title: 'Comparison operand should be a date, number, string or boolean' },
  WDE0059: { status: 400, title: 'Operand should be a string' },
  WDE0060: { status: 400, title: 'Set operand items should be dates, numbers, strings or booleans' },
  WDE0061: { status: 400, title: 'Unknown or unsupported filter operator' },
  WDE0065: { status: 400, title: 'Sort should be an array' },
  WDE0066: { status: 400, title: 'Sort items should be objects' },
  WDE0067: { status: 400, title: 'Sort item is invalid' },
  WDE0068: { status: 400, title: 'Item ids must be an array of strings' },
  WDE0069: { status: 400, title: 'Too many items in one bulk remove' },
  WDE0070: { status: 400, title: '$regex is not allowed' },
  WDE0073: { status: 404, title: 'Item not found' },
  WDE0074: { status: 409, title: 'Item already exists' },
  WDE0075: { status: 400, title: 'Validation error' },
  WDE0078: { status: 400, title: 'Hook error' },
  WDE0079: { status: 409, title: 'Revision mismatch' },
  WDE0080: { status: 400, title: 'Request validation failed' },
  WDE0104: { status: 409, title: 'Collection already exists' },
  WDE0109: { status: 413, title: 'Payload is too large' },
  WDE0113: { status: 409, title: 'Duplicate key: the unique index cannot be built' },
  WDE0114: { status: 400, title: 'Document too large: the index cannot be built' },
  WDE0119: { status: 400, title: 'Operation is not supported by the collection' },
  WDE0123: { status: 409, title: 'Unique index conflict' },
  WDE0133: { status: 400, title: 'Document too large to index' },
  WDE0134: { status: 400, title: 'Field names cannot start with $' },
  WDE0147: { status: 400, title: 'Invalid property or field path' },
  WDE0303: { status: 400, title: 'A multi-reference field cannot be set by a data operation' },
  WDE0165: { status: 400, title: 'Invalid cursor' },
  // The permissions client's own codes for special permissions sets.
  ALREADY_EXISTS: { status: 409, title: 'Already exists' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  // Not a Wix code: Wix answers 401 with its own gateway error. Cairn's is in the same envelope.
  UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class WixError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly data: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, description?: string, data?: Record<string, unknown>) {
    super(description ?? ERROR_CODES[code].title);
    this.name = 'WixError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.data = data;
  }

  /** The per-item error object used inside bulk results. */
  toApplicationError(): { code: string; description: string; data?: Record<string, unknown> } {
    return this.data === undefined
      ? { code: this.code, description: this.message }
      : { code: this.code, description: this.message, data: this.data };
  }

  /** The Wix error envelope for the HTTP reply body. */
  toEnvelope(): { message: string; details: { applicationError: ReturnType<WixError['toApplicationError']> } } {
    return { message: this.message, details: { applicationError: this.toApplicationError() } };
  }
}

export const isWixError = (e: unknown): e is WixError => e instanceof WixError;
