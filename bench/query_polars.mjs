// Polars' lazy scan of an Arrow IPC file, for bench/query_polars_bench.sh:
//   node bench/query_polars.mjs FILE total|grouped
// Runs one aggregate (the same as the zkarrow query it is compared with)
// and prints the result, so that both sides are checked to agree.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../tests/interop/package.json'));
const pl = require('nodejs-polars');

const [file, which] = process.argv.slice(2);
const scan = pl.scanIPC(file);
let result;
if (which === 'total') {
  result = scan.select(pl.col('id').count().alias('n'), pl.col('v').sum().alias('total')).collectSync();
} else if (which === 'grouped') {
  result = scan
    .groupBy('k')
    .agg(pl.col('id').count().alias('n'), pl.col('v').sum().alias('total'))
    .sort('k')
    .collectSync();
} else {
  console.error('usage: node bench/query_polars.mjs FILE total|grouped');
  process.exit(2);
}
console.log(`${result.height} rows; first: ${JSON.stringify(result.toRecords()[0], (_, x) => (typeof x === "bigint" ? Number(x) : x))}`);
