/**
 * `$matches` and `$urlized` (docs/query-language.md, "Patterns"): operands read into the AST's
 * pattern parts, and the matcher the evaluator uses. The SQL compilers test the same parts at
 * the same fixed places (compile.ts), so every store and the evaluator agree by construction.
 *
 * `$matches: {ignoreCase?, spec: [{type: 'literal', value} | {type: 'anyOf', value}]}` matches a
 * whole string: each literal as written, each anyOf as one character of its value.
 * `$urlized: "a-slug"` is what the published client's URL matching sends as `$matches`: the
 * slug's words, each `-` standing for one of space, tab, newline or `-`, case ignored. It also
 * takes the words as an array (the external-database protocol's form).
 */
import { WixError } from '../errors.js';
import { isPlainObject } from '../wire/json.js';
import type { PatternPart } from './ast.js';
import { foldCase } from './fold.js';

/** The most parts a pattern may have: each becomes a test in SQL. */
export const MAX_PATTERN_PARTS = 100;

/** The characters a `-` of a urlized slug stands for (the client's `_matchesUrlized`). */
export const URL_SEPARATORS = ' \t\n-';

function invalid(op: string, why: string): WixError {
  return new WixError('WDE0059', `${op}: ${why}`);
}

function text(v: unknown, op: string, what: string): string {
  if (typeof v !== 'string') throw invalid(op, `${what} should be a String`);
  if (v.includes('\u0000')) throw invalid(op, 'strings in filters cannot contain the character U+0000');
  return v;
}

/** Parts as given, folded when case is ignored; empty literals dropped, set characters once each. */
function finish(op: string, parts: PatternPart[], ignoreCase: boolean): PatternPart[] {
  const out: PatternPart[] = [];
  for (const p of parts) {
    if ('literal' in p) {
      if (p.literal !== '') out.push({ literal: ignoreCase ? foldCase(p.literal) : p.literal });
    } else {
      out.push({ oneOf: [...new Set(ignoreCase ? foldCase(p.oneOf) : p.oneOf)].join('') });
    }
  }
  if (out.length > MAX_PATTERN_PARTS) throw invalid(op, `a pattern has at most ${MAX_PATTERN_PARTS} parts`);
  return out;
}

export function parseMatches(operand: unknown): { parts: PatternPart[]; ignoreCase: boolean } {
  const op = '$matches';
  if (!isPlainObject(operand)) throw invalid(op, 'should be an object {ignoreCase, spec}');
  for (const key of Object.keys(operand)) if (key !== 'ignoreCase' && key !== 'spec') throw invalid(op, `unknown property ${JSON.stringify(key.slice(0, 40))} (expected ignoreCase, spec)`);
  const ignoreCase = operand.ignoreCase ?? false;
  if (typeof ignoreCase !== 'boolean') throw invalid(op, 'ignoreCase should be a Boolean');
  const spec = operand.spec;
  if (!Array.isArray(spec) || spec.length === 0) throw invalid(op, 'spec should be a non-empty Array of {type, value}');
  if (spec.length > MAX_PATTERN_PARTS) throw invalid(op, `a pattern has at most ${MAX_PATTERN_PARTS} parts`);
  const parts = spec.map((s, i): PatternPart => {
    if (!isPlainObject(s)) throw invalid(op, `spec[${i}] should be an object {type, value}`);
    const value = text(s.value, op, `spec[${i}].value`);
    if (s.type === 'literal') return { literal: value };
    if (s.type === 'anyOf') {
      if (value === '') throw invalid(op, `spec[${i}].value of an anyOf should name at least one character`);
      return { oneOf: value };
    }
    throw invalid(op, `spec[${i}].type should be literal or anyOf`);
  });
  return { parts: finish(op, parts, ignoreCase), ignoreCase };
}

export function parseUrlized(operand: unknown): PatternPart[] {
  const op = '$urlized';
  let words: string[];
  if (typeof operand === 'string') {
    if (operand === '') throw invalid(op, 'should be a non-empty String (a URL slug)');
    // As the client builds it: every `-` one separator, empty words left out.
    words = text(operand, op, 'the slug').split('-');
  } else if (Array.isArray(operand) && operand.length > 0) {
    words = operand.map((w, i) => text(w, op, `word ${i}`));
  } else {
    throw invalid(op, 'should be a non-empty String (a URL slug) or Array of words');
  }
  const parts: PatternPart[] = [];
  words.forEach((w, i) => {
    if (i > 0) parts.push({ oneOf: URL_SEPARATORS });
    parts.push({ literal: w });
  });
  return finish(op, parts, true);
}

/** How many code points a string matching the parts has. */
export function patternLength(parts: readonly PatternPart[]): number {
  let n = 0;
  for (const p of parts) n += 'literal' in p ? [...p.literal].length : 1;
  return n;
}

/** Whether the whole of `value` (already folded when the pattern ignores case) matches the parts. */
export function matchesPattern(value: string, parts: readonly PatternPart[]): boolean {
  const cps = [...value];
  if (cps.length !== patternLength(parts)) return false;
  let i = 0;
  for (const p of parts) {
    if ('literal' in p) {
      for (const c of p.literal) if (cps[i++] !== c) return false;
    } else if (!p.oneOf.includes(cps[i++] as string)) {
      return false;
    }
  }
  return true;
}
