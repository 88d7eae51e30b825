// Usage: node read_with.mjs READER FILE...   (READER: arrowjs | polars | flechette)
// Prints, for each FILE (an Arrow IPC file or stream), a line {"file": FILE}
// and then its canonical dump (see canonical.mjs), as READER reads it.
import { readFileSync } from 'node:fs';
import { printDump } from './canonical.mjs';

const [readerName, ...files] = process.argv.slice(2);
const readers = {
  arrowjs: () => import('./readers/arrowjs.mjs'),
  polars: () => import('./readers/polars.mjs'),
  flechette: () => import('./readers/flechette.mjs'),
};
if (!readers[readerName] || files.length === 0) {
  process.stderr.write('usage: read_with.mjs arrowjs|polars|flechette FILE...\n');
  process.exit(2);
}
const reader = await readers[readerName]();
for (const file of files) {
  process.stdout.write(JSON.stringify({ file }) + '\n');
  printDump(reader.dump(readFileSync(file)));
}
