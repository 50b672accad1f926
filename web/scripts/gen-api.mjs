// Regenerates src/lib/api/schema.d.ts from the server's OpenAPI document.
//   npm run gen:api -- path/to/openapi.json
//   OPENAPI_JSON=path/to/openapi.json npm run gen:api
// (default: ./openapi.json). CI runs it against the document the server binary prints
// and fails when the committed file differs; never edit schema.d.ts by hand.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const input = process.argv[2] ?? process.env.OPENAPI_JSON ?? 'openapi.json';
const output = join(root, 'src/lib/api/schema.d.ts');

if (!existsSync(input)) {
  console.error(`gen:api: no OpenAPI document at ${input} (pass a path or set OPENAPI_JSON)`);
  process.exit(1);
}
const bin = join(root, 'node_modules/.bin/openapi-typescript');
const result = spawnSync(bin, [input, '-o', output, '--empty-objects-unknown'], { stdio: 'inherit' });
process.exit(result.status ?? 1);
