/**
 * A Server-Sent Events parser (the WHATWG "event stream interpretation", the parts Cairn's
 * stream uses): `id`, `event` and `data` fields, a blank line dispatches, `:` lines are comments,
 * lines end in LF, CRLF or CR, and chunks may split anywhere. No DOM: the tests run it in Node.
 */

/** Parses SSE text fed in arbitrary chunks; calls `emit` for every complete message. */
export class SseParser {
  private buffer = '';
  private id = '';
  private type = '';
  private data: string[] = [];

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
