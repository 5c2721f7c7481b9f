/**
 * Reads Cairn's live event stream (GET /cairn/v1/events/stream, Server-Sent Events). A browser
 * EventSource cannot send an Authorization header, and the stream needs one, so this reads the
 * response body with fetch and parses the SSE lines itself: `id:`, `event:`, `data:` fields,
 * a blank line ends a message, `:` lines are comments (heartbeats). After a dropped connection it
 * reconnects with Last-Event-ID, as an EventSource would.
 */
import { storedKey } from './api';
import { SseParser } from './sse';

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
