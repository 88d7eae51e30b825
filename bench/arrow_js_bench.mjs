// node bench/arrow_js_bench.mjs FILE.arrow [REPEATS]
//
// Arrow JS (apache-arrow, the version the interop tests pin) on the same
// 1M-row znode-like table that bench_arrow_ipc writes: tableFromIPC (read)
// and tableToIPC(table, 'file') (write), timed in-process. Prints
// {"rows": N, "file_bytes": B, "read_ms": [...], "write_ms": [...]}.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'tests', 'interop', 'package.json'));
const { tableFromIPC, tableToIPC } = require('apache-arrow');

const [file, repeatsArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node arrow_js_bench.mjs FILE.arrow [REPEATS]');
  process.exit(2);
}
const repeats = Number(repeatsArg ?? 5);
const bytes = readFileSync(file);

function timeMs(fn) {
  const start = process.hrtime.bigint();
  const result = fn();
  return [Number(process.hrtime.bigint() - start) / 1e6, result];
}

const readMs = [];
const writeMs = [];
let table;
for (let i = 0; i < repeats; ++i) {
  let ms;
  [ms, table] = timeMs(() => tableFromIPC(bytes));
  readMs.push(ms);
}
for (let i = 0; i < repeats; ++i) {
  const [ms, out] = timeMs(() => tableToIPC(table, 'file'));
  if (out.byteLength === 0) throw new Error('empty output');
  writeMs.push(ms);
}
console.log(JSON.stringify({ rows: table.numRows, file_bytes: bytes.byteLength,
                             read_ms: readMs, write_ms: writeMs }));
