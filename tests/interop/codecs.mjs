// LZ4-frame and ZSTD decoders for the Arrow IPC body compression, shared by
// the JS readers: Arrow JS and flechette ship no codecs of their own, they
// call what is registered (after stripping the 8-byte length prefix).
import { decompressFrameSync } from 'lz4-napi';
import { decompress as zstdDecompress } from 'fzstd';

export const lz4 = {
  decode: (bytes) => new Uint8Array(decompressFrameSync(Buffer.from(bytes))),
};

export const zstd = {
  decode: (bytes) => zstdDecompress(bytes),
};
