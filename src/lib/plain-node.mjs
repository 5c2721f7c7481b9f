// The package entry under Node (package.json "exports", condition "node"). Cairn ships its
// TypeScript sources and has no build step. When a TypeScript loader is already active
// (`node --import tsx`, the test runner under tsx) the sources import as they are; under plain
// `node` that import fails, and they are loaded through tsx's scoped loader instead (tsImport
// registers it for this import only, not for the rest of the process).
let lib;
try {
  lib = await import('./index.ts');
} catch {
  const { tsImport } = await import('tsx/esm/api');
  lib = await tsImport('./index.ts', import.meta.url);
}

export const { createCairn, wixClientFor, cairnFetch, CairnClock } = lib;
