/**
 * The bookshop's tests, run with node's test runner against an in-process Cairn:
 *
 *   node --import tsx --test examples/bookshop/catalog.test.ts
 *
 * One server for the file (createCairn takes a few tens of ms), emptied and re-seeded before
 * each test (reset takes about a millisecond).
 */
import { test, before, beforeEach, after } from 'node:test';
import assert from 'node:assert/strict';
// The package's own name: what a project that installed Cairn writes (package.json "exports").
import { createCairn, type EmbeddedCairn } from 'cairn';
import { catalog, OutOfStock } from './catalog.js';

let cairn: EmbeddedCairn;

before(async () => {
  cairn = await createCairn({
    store: 'memory',
    collections: [
      {
        id: 'books',
        fields: [
          { key: 'title', type: 'TEXT' },
          { key: 'author', type: 'TEXT' },
          { key: 'year', type: 'NUMBER' },
          { key: 'price', type: 'NUMBER' },
          { key: 'stock', type: 'NUMBER' },
        ],
      },
    ],
    seed: {
      books: [
        { _id: 'dune', title: 'Dune', author: 'Frank Herbert', year: 1965, price: 12, stock: 3 },
        { _id: 'messiah', title: 'Dune Messiah', author: 'Frank Herbert', year: 1969, price: 10, stock: 0 },
        { _id: 'emma', title: 'Emma', author: 'Jane Austen', year: 1815, price: 8, stock: 5 },
      ],
    },
  });
});
beforeEach(() => cairn.reset({ seed: true }));
after(() => cairn.close());

test('inStock lists what can be bought, cheapest first', async () => {
  const books = await catalog(cairn.client).inStock();
  assert.deepEqual(books.map((b) => b.title), ['Emma', 'Dune']);
});

test('byAuthor finds every book of an author, oldest first', async () => {
  const books = await catalog(cairn.client).byAuthor('Frank Herbert');
  assert.deepEqual(books.map((b) => [b.title, b.year]), [['Dune', 1965], ['Dune Messiah', 1969]]);
});

test('addBook stores the book and refuses a bad one', async () => {
  const shop = catalog(cairn.client);
  const added = await shop.addBook({ title: 'Persuasion', author: 'Jane Austen', year: 1817, price: 9, stock: 2 });
  assert.ok(added._id);
  assert.deepEqual((await shop.byAuthor('Jane Austen')).map((b) => b.title), ['Emma', 'Persuasion']);
  await assert.rejects(shop.addBook({ title: ' ', author: 'x', year: 1, price: 1, stock: 1 }), /needs a title/);
});

test('sell lowers the stock and refuses to oversell', async () => {
  const shop = catalog(cairn.client);
  assert.equal(await shop.sell('dune', 2), 1);
  await assert.rejects(shop.sell('dune', 2), OutOfStock);
  assert.equal(await shop.sell('dune'), 0);
  assert.deepEqual((await shop.inStock()).map((b) => b.title), ['Emma']);
});

test('each test starts from the seed again (reset)', async () => {
  assert.equal(await catalog(cairn.client).stockValue(), 3 * 12 + 5 * 8);
});
