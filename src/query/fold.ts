/**
 * The lower-casing of the case-insensitive operators ($startsWith, $endsWith, $contains):
 * Unicode's simple lowercase mapping, one code point at a time, with no context. This is what
 * PostgreSQL's lower() does under a UTF-8 locale, and it keeps string lengths in code points.
 *
 * JavaScript's toLowerCase applies the full mappings instead, which differ from the simple ones
 * in exactly two places (the language-independent part of SpecialCasing.txt): U+0130 "İ"
 * becomes "i" + U+0307 rather than "i", and U+03A3 "Σ" becomes final "ς" at the end of a word
 * rather than "σ". Mapping those two first makes toLowerCase give the simple mapping.
 *
 * Used by the parser (operands), the evaluator and SQLite's cairn_lower; see
 * docs/query-language.md.
 */
const SPECIAL = /[\u0130\u03a3]/g;

export function foldCase(s: string): string {
  return s.replace(SPECIAL, (c) => (c === '\u0130' ? 'i' : '\u03c3')).toLowerCase();
}
