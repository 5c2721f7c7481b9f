/**
 * A small bookshop's catalogue: the application code under test. It knows nothing of Cairn; it
 * talks to Wix Data through the published `@wix/sdk` + `@wix/data` client it is given. In
 * production that client is `wixDataClient(process.env.WIX_API_KEY, siteId)`; in the tests it is
 * the one `createCairn` returns (catalog.test.ts).
 */
import { ApiKeyStrategy, createClient } from '@wix/sdk';
import { items } from '@wix/data';

/** The production client: real Wix, an API key and a site id. */
export function wixDataClient(apiKey: string, siteId: string) {
  return createClient({ modules: { items }, auth: ApiKeyStrategy({ apiKey, siteId }) });
}

/** What the catalogue needs: any client with the `items` module (Cairn's test client has it too). */
export type DataClient = Pick<ReturnType<typeof wixDataClient>, 'items'>;

export interface Book {
  _id?: string;
  title: string;
  author: string;
  year: number;
  price: number;
  stock: number;
}

export class OutOfStock extends Error {}

export function catalog(client: DataClient) {
  const books = () => client.items.query('books');
  return {
    /** Books that can be bought now, cheapest first. */
    async inStock(): Promise<Book[]> {
      const page = await books().gt('stock', 0).ascending('price').ascending('title').find();
      return page.items as unknown as Book[];
    },

    /** Every book by an author, oldest first. */
    async byAuthor(author: string): Promise<Book[]> {
      const page = await books().eq('author', author).ascending('year').find();
      return page.items as unknown as Book[];
    },

    async addBook(book: Book): Promise<Book> {
      if (!book.title.trim()) throw new Error('a book needs a title');
      if (book.price < 0) throw new Error('a price cannot be negative');
      return (await client.items.insert('books', { ...book })) as unknown as Book;
    },

    /** Sells `quantity` copies: the stock goes down in one patch, only while enough are left. */
    async sell(bookId: string, quantity = 1): Promise<number> {
      const book = (await client.items.get('books', bookId)) as unknown as Book | null;
      if (!book) throw new Error(`no book ${bookId}`);
      if (book.stock < quantity) throw new OutOfStock(`${book.title}: ${book.stock} left, ${quantity} wanted`);
      const patched = await client.items.patch('books', bookId).incrementField('stock', -quantity).run();
      return (patched as unknown as Book).stock;
    },

    /** What the whole stock is worth. */
    async stockValue(): Promise<number> {
      const page = await books().gt('stock', 0).limit(1000).find();
      return (page.items as unknown as Book[]).reduce((sum, b) => sum + b.price * b.stock, 0);
    },
  };
}
