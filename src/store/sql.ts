/**
 * SQL fragments: text and bound values kept apart until the dialect renders them.
 * Values only ever travel as parameters; text comes only from code (never from a request),
 * or through `ident`/`literal`, which accept only strings that a strict pattern allows.
 */

export type Dialect = 'sqlite' | 'postgres';

type Part =
  | { readonly text: string }
  | { readonly value: unknown }
  | { readonly rows: readonly (readonly unknown[])[] }
  | { readonly named: string }
  | Sql;

export class Sql {
  readonly parts: readonly Part[];
  /** Set by `prepared`: the store may keep this statement's plan for the next run of the same text. */
  readonly reusable: boolean;
  constructor(parts: readonly Part[], reusable = false) {
    this.parts = parts;
    this.reusable = reusable;
  }
}

/**
 * Marks a statement that runs very often with one of few texts (reads by id): PostgreSQL
 * prepares it once per connection and runs the stored plan after that, instead of parsing and
 * planning it on every call. Only for statements whose text comes from a small fixed set: each
 * distinct text stays prepared for the life of a connection.
 */
export function prepared(q: Sql): Sql {
  return new Sql(q.parts, true);
}

export interface CompiledSql {
  readonly text: string;
  readonly params: unknown[];
}

/** Tagged template: interpolated Sql fragments nest, anything else becomes a bound parameter. */
export function sql(strings: TemplateStringsArray, ...values: unknown[]): Sql {
  const parts: Part[] = [];
  strings.forEach((s, i) => {
    if (s) parts.push({ text: s });
    if (i < values.length) {
      const v = values[i];
      parts.push(v instanceof Sql ? v : { value: v });
    }
  });
  return new Sql(parts);
}

/** Text written by Cairn's own code. Never pass request data here. */
export const raw = (text: string): Sql => new Sql([{ text }]);

export const empty = raw('');

/**
 * `(?, ?), (?, ?), ...` for a VALUES list, every cell bound. Cheaper than one fragment per row
 * when a batch holds a thousand rows.
 */
export function valuesList(rows: readonly (readonly unknown[])[]): Sql {
  return new Sql([{ rows }]);
}

const NAME = /^[a-z][a-z0-9_]*$/;

/** A named parameter bound per row by Executor.each (`@name` on SQLite, `$name` never used on PG). */
export function named(name: string): Sql {
  if (!NAME.test(name)) throw new Error(`bad parameter name ${name}`);
  return new Sql([{ named: name }]);
}

export function join(fragments: readonly Sql[], separator: string): Sql {
  const parts: Part[] = [];
  fragments.forEach((f, i) => {
    if (i > 0) parts.push({ text: separator });
    parts.push(f);
  });
  return new Sql(parts);
}

const SAFE_LITERAL = /^[\p{L}\p{N}_\-$. ]*$/u;

/**
 * A string literal inlined in the SQL text. Used for JSON paths, which must be literal so that
 * expression indexes match the query's expressions. Only characters that cannot end or escape
 * a quoted literal are accepted; the caller validates paths before they get here.
 */
export function literal(value: string): Sql {
  if (!SAFE_LITERAL.test(value)) throw new Error(`unsafe SQL literal refused: ${JSON.stringify(value)}`);
  return raw(`'${value}'`);
}

const SAFE_IDENT = /^[a-z_][a-z0-9_]*$/;

/** An identifier written by Cairn (index names and the like), double-quoted. */
export function ident(name: string): Sql {
  if (!SAFE_IDENT.test(name)) throw new Error(`unsafe SQL identifier refused: ${JSON.stringify(name)}`);
  return raw(`"${name}"`);
}

export function render(fragment: Sql, dialect: Dialect): CompiledSql {
  let text = '';
  const params: unknown[] = [];
  const walk = (f: Sql): void => {
    for (const p of f.parts) {
      if (p instanceof Sql) walk(p);
      else if ('text' in p) text += p.text;
      else if ('named' in p) {
        if (dialect !== 'sqlite') throw new Error('named parameters are rendered by Executor.each only');
        text += `@${p.named}`;
      } else if ('rows' in p) {
        const parts: string[] = [];
        for (const row of p.rows) {
          const cells: string[] = [];
          for (const v of row) {
            params.push(v);
            cells.push(dialect === 'sqlite' ? '?' : `$${params.length}`);
          }
          parts.push(`(${cells.join(', ')})`);
        }
        text += parts.join(', ');
      } else {
        params.push(p.value);
        text += dialect === 'sqlite' ? '?' : `$${params.length}`;
      }
    }
  };
  walk(fragment);
  return { text, params };
}
