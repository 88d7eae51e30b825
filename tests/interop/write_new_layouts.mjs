// Usage: node write_new_layouts.mjs OUT_DIR
// Writes, with flechette (an independent writer), a table holding the
// layouts added to the Arrow format after 1.0 that flechette 2.6 can build:
// run-end encoded (int16/32/64 run ends) and decimal32/64, with nulls (it
// reads views and list views but cannot build them: those come from Polars
// and Arrow C++'s gold files), as OUT_DIR/flechette.arrow (file),
// flechette_stream.arrows and flechette_lz4.arrows (an lz4 stream).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  columnFromArray, CompressionType, decimal32, decimal64, field, int16, int32, int64,
  runEndEncoded, setCompressionCodec, tableFromColumns, tableToIPC, utf8,
} from '@uwdata/flechette';
import { compressFrameSync } from 'lz4-napi';
import { lz4 } from './codecs.mjs';

setCompressionCodec(CompressionType.LZ4_FRAME,
  { ...lz4, encode: (bytes) => new Uint8Array(compressFrameSync(Buffer.from(bytes))) });

const [outDir] = process.argv.slice(2);
if (!outDir) {
  process.stderr.write('usage: write_new_layouts.mjs OUT_DIR\n');
  process.exit(2);
}

const runs = (width) => runEndEncoded(field('run_ends', width, false), field('values', utf8()));
const columns = {
  text: columnFromArray(['zk', null, '/brokers/ids/1001/partitions', '', '名前 ü-ñ-😀'], utf8()),
  runs16: columnFromArray(['a', 'a', null, 'b', 'b'], runs(int16())),
  runs32: columnFromArray(['x', 'x', 'x', 'x', 'y'], runs(int32())),
  runs64: columnFromArray([null, null, 'long run value here', 'long run value here', 'z'], runs(int64())),
  dec32: columnFromArray([1.25, -3.5, null, 0, 9999999.99], decimal32(9, 2)),
  dec64: columnFromArray([1.5, null, -2.25, 123456789.125, 0], decimal64(18, 3)),
};
const table = tableFromColumns(columns);
writeFileSync(join(outDir, 'flechette_file.arrow'), tableToIPC(table, { format: 'file' }));
writeFileSync(join(outDir, 'flechette_stream.arrows'), tableToIPC(table, { format: 'stream' }));
writeFileSync(join(outDir, 'flechette_lz4.arrows'),
  tableToIPC(table, { format: 'stream', codec: CompressionType.LZ4_FRAME }));
