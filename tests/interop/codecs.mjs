// LZ4-frame and ZSTD decoders for the Arrow IPC body compression, shared by
// the JS readers: Arrow JS and flechette ship no codecs of their own, they
// call what is registered (after stripping the 8-byte length prefix).
import { decompressFrameSync } from 'lz4-napi';
import { decompress as zstdDecompress } from 'fzstd';

// Both readers view the decoded bytes as typed arrays in place (e.g. a
// BigInt64Array), which needs an 8-byte aligned start; fzstd may return a
// view at any offset of its work buffer, so such a view is copied.
function aligned(bytes) {
  return bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
}

export const lz4 = {
  decode: (bytes) => aligned(new Uint8Array(decompressFrameSync(Buffer.from(bytes)))),
};

export const zstd = {
  decode: (bytes) => aligned(zstdDecompress(bytes)),
};
