// Usage: node http_fetch.mjs [--codec zstd|lz4] [--batches N] [--token T] URL
// Reads an Arrow stream over HTTP with Node's fetch and Arrow JS, nothing of
// zkarrow's code:
//   without --batches: tableFromIPC over the response;
//   with --batches N: a RecordBatchReader over the response body, N batches
//   read as they arrive, then the request is aborted (for endless streams).
// Prints {"status", "content_type", "content_encoding", "batches"}, then
// {"fields": [{name, type}]}, then one array per row (int64 as strings).
// A non-200 reply prints {"status", "error": <its JSON body>} and exits 1.
import { compressionRegistry, CompressionType, RecordBatchReader, tableFromIPC } from 'apache-arrow';
import { lz4, zstd } from './codecs.mjs';
import { typeName } from './readers/arrowjs.mjs';

compressionRegistry.set(CompressionType.LZ4_FRAME, lz4);
compressionRegistry.set(CompressionType.ZSTD, zstd);

const args = process.argv.slice(2);
const options = {};
while (args.length > 1 && args[0].startsWith('--')) {
  const [name, value] = args.splice(0, 2);
  options[name.slice(2)] = value;
}
const [url] = args;
if (!url) {
  process.stderr.write('usage: http_fetch.mjs [--codec zstd|lz4] [--batches N] [--token T] URL\n');
  process.exit(2);
}

const headers = {
  Accept: 'application/vnd.apache.arrow.stream' + (options.codec ? `; codecs="${options.codec}"` : ''),
};
if (options.token) headers.Authorization = `Bearer ${options.token}`;
const controller = new AbortController();
const response = await fetch(url, { headers, signal: controller.signal });
if (response.status !== 200) {
  console.log(JSON.stringify({ status: response.status, error: await response.json() }));
  process.exit(1);
}

const canonical = (value) => (typeof value === 'bigint' ? String(value) : value);
let schema;
const rows = [];
let batches = 0;
function take(batch) {
  batches += 1;
  for (let i = 0; i < batch.numRows; ++i) {
    rows.push(batch.schema.fields.map((f) => canonical(batch.getChild(f.name).get(i))));
  }
}

if (options.batches === undefined) {
  const table = await tableFromIPC(response);
  schema = table.schema;
  for (const batch of table.batches) take(batch);
} else {
  const wanted = Number(options.batches);
  const reader = await RecordBatchReader.from(response.body);
  await reader.open();
  schema = reader.schema;
  for await (const batch of reader) {
    take(batch);
    if (batches === wanted) break;
  }
  controller.abort();
}

console.log(JSON.stringify({
  status: response.status,
  content_type: response.headers.get('content-type'),
  content_encoding: response.headers.get('content-encoding'),
  batches,
}));
console.log(JSON.stringify({ fields: schema.fields.map((f) => ({ name: f.name, type: typeName(f.type) })) }));
for (const row of rows) console.log(JSON.stringify(row));
