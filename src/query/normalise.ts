/**
 * Meaning-preserving rewrites done once, before any compiler or the evaluator sees the tree:
 * constant folding of true/false, flattening of nested and/or, double negation. The compilers
 * can then assume: no `and`/`or` with fewer than two children, no constants below the root.
 */
import { FALSE, TRUE, type FilterNode } from './ast.js';

export function normalise(node: FilterNode): FilterNode {
  switch (node.kind) {
    case 'and':
    case 'or': {
      const absorbing = node.kind === 'and' ? 'false' : 'true';
      const neutral = node.kind === 'and' ? 'true' : 'false';
      const children: FilterNode[] = [];
      for (const c of node.children) {
        const n = normalise(c);
        if (n.kind === absorbing) return n;
        if (n.kind === neutral) continue;
        if (n.kind === node.kind) children.push(...n.children);
        else children.push(n);
      }
      if (children.length === 0) return node.kind === 'and' ? TRUE : FALSE;
      if (children.length === 1) return children[0] as FilterNode;
      return { kind: node.kind, children };
    }
    case 'not': {
      const child = normalise(node.child);
      if (child.kind === 'true') return FALSE;
      if (child.kind === 'false') return TRUE;
      if (child.kind === 'not') return child.child;
      return { kind: 'not', child };
    }
    case 'in':
      return node.values.length === 0 ? FALSE : node;
    default:
      return node;
  }
}
