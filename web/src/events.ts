/**
 * Reads Cairn's live event stream (GET /cairn/v1/events/stream, Server-Sent Events). A browser
 * EventSource cannot send an Authorization header, and the stream needs one, so this reads the
 * response body with fetch and parses the SSE lines itself: `id:`, `event:`, `data:` fields,
 * a blank line ends a message, `:` lines are comments (heartbeats). After a dropped connection it
 * reconnects with Last-Event-ID, as an EventSource would.
 */
import { storedKey } from './api';

export interface StreamEvent {
  id: string;
  type: string;
  /** The Standard Webhooks envelope `{type, timestamp, data}` (docs/events.md). */
  envelope: { type: string; timestamp: string; data: any };
}

export interface StreamOptions {
  types?: readonly string[];
  dataCollectionId?: string;
  onEvent: (event: StreamEvent) => void;
  /** Called once the response head arrived: from then on every new event is delivered. */
  onOpen?: () => void;
  onError?: (error: unknown) => void;
}

/** Parses SSE text fed in arbitrary chunks; calls `emit` for every complete message. */
export class SseParser {
  private buffer = '';
  private id = '';
  private type = '';
  private data: string[] = [];
  lastEventId = '';

  constructor(private readonly emit: (id: string, type: string, data: string) => void) {}

  feed(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buffer.slice(0, nl);
      const width = this.buffer.startsWith('\r\n', nl) ? 2 : 1;
      // A lone \r at the end of a chunk may be the first half of \r\n: wait for the next chunk.
      if (width === 1 && this.buffer[nl] === '\r' && nl === this.buffer.length - 1) break;
      this.buffer = this.buffer.slice(nl + width);
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) {
        this.lastEventId = this.id;
        this.emit(this.id, this.type || 'message', this.data.join('\n'));
      }
      this.type = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'id') this.id = value;
    else if (field === 'event') this.type = value;
    else if (field === 'data') this.data.push(value);
  }
}

/** Opens the stream; the returned function closes it. */
export function openEventStream(options: StreamOptions): () => void {
  const controller = new AbortController();
  let lastEventId = '';
  const params = new URLSearchParams();
  if (options.types?.length) params.set('types', options.types.join(','));
  if (options.dataCollectionId) params.set('dataCollectionId', options.dataCollectionId);

  async function connect(): Promise<void> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    const key = storedKey();
    if (key) headers.authorization = key;
    if (lastEventId) headers['last-event-id'] = lastEventId;
    const res = await fetch(`/cairn/v1/events/stream?${params}`, { headers, signal: controller.signal });
    if (res.status === 401 || res.status === 403) {
      // Not a passing failure: this key may not read the stream (SCOPE.CAIRN.WEBHOOKS).
      controller.abort();
      options.onError?.(new Error(`event stream: HTTP ${res.status}`));
      return;
    }
    if (!res.ok || !res.body) throw new Error(`event stream: HTTP ${res.status}`);
    options.onOpen?.();
    const parser = new SseParser((id, type, data) => {
      lastEventId = id;
      try {
        options.onEvent({ id, type, envelope: JSON.parse(data) });
      } catch (e) {
        options.onError?.(e);
      }
    });
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      parser.feed(value);
    }
  }

  void (async () => {
    while (!controller.signal.aborted) {
      try {
        await connect();
      } catch (e) {
        if (controller.signal.aborted) return;
        options.onError?.(e);
      }
      // The server ends streams when it shuts down; come back as an EventSource would (retry: 2000).
      await new Promise((r) => setTimeout(r, 2000));
    }
  })();
  return () => controller.abort();
}
