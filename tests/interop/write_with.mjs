// Usage: node write_with.mjs arrowjs|polars OUT [--format file|stream]
//                                              [--compression lz4|zstd]
//                                              [--polars-defaults]
// Writes the table of fixed_table.mjs with an independent Arrow writer.
// arrowjs writes uncompressed only (its compressed writer is unreliable).
// polars re-encodes the same table (read from Arrow JS's bytes, since
// nodejs-polars cannot build binary columns from JS): files through sinkIpc
// with compatLevel "oldest" (Arrow 1.0 types: large_utf8, large_binary,
// large_list), streams through writeIPCStream (which writes large_utf8 and
// large_binary in nodejs-polars 0.26). With --polars-defaults, files are
// written as a user's df.writeIPC(path) writes them: Utf8View and BinaryView,
// nested and dictionary-encoded ones included.
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { tableToIPC } from 'apache-arrow';
import { fixedTable } from './fixed_table.mjs';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    format: { type: 'string', default: 'file' },
    compression: { type: 'string' },
    'polars-defaults': { type: 'boolean', default: false },
  },
});
const [writer, out] = positionals;
const { format, compression } = values;
const polarsDefaults = values['polars-defaults'];
if (!['arrowjs', 'polars'].includes(writer) || !out || !['file', 'stream'].includes(format) ||
    ![undefined, 'lz4', 'zstd'].includes(compression) || (writer === 'arrowjs' && compression)) {
  process.stderr.write('usage: write_with.mjs arrowjs|polars OUT [--format file|stream] ' +
    '[--compression lz4|zstd (polars only)] [--polars-defaults]\n');
  process.exit(2);
}

const table = fixedTable();
if (writer === 'arrowjs') {
  writeFileSync(out, tableToIPC(table, format));
} else {
  const { default: pl } = await import('nodejs-polars');
  const df = pl.readIPC(Buffer.from(tableToIPC(table, 'file')));
  const options = { compression: compression ?? 'uncompressed' };
  if (format === 'file' && polarsDefaults) {
    df.writeIPC(out, options);
  } else if (format === 'file') {
    df.lazy().sinkIpc(out, { ...options, compatLevel: 'oldest' }).collect();
  } else {
    df.writeIPCStream(out, options);
  }
}
