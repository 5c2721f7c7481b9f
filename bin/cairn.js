#!/usr/bin/env node
// The `cairn` command (package.json "bin"): runs the TypeScript entry through tsx, as the npm scripts do.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
