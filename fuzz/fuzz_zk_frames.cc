// libFuzzer target: a hostile ZooKeeper server. Feeds arbitrary bytes through
// the frame decoder in arbitrary chunks, then every reply decoder over each
// frame. Must never crash, hang, or allocate beyond the frame limit.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "zk/frame_decoder.h"
#include "zk/protocol.h"

namespace {

using namespace zkarrow::zk;

void DecodeEverything(std::span<const uint8_t> payload) {
  static const std::vector<ReadOp> kReads = {ReadOp::GetData("/a"), ReadOp::GetChildren("/b"),
                                             ReadOp::GetData("/c")};
  static const std::vector<Op> kOps = {Op::Create("/a", "", OpenAclUnsafe()), Op::Delete("/b"),
                                       Op::SetData("/c", "x"), Op::Check("/d", 1)};
  (void)DecodeConnectResponse(payload);
  JuteReader reader(payload);
  ReplyHeader header = ReadReplyHeader(reader);
  (void)header;
  std::span<const uint8_t> body = payload.subspan(reader.offset());
  (void)DecodeWatcherEvent(body);
  (void)DecodeStat(body);
  (void)DecodeGetDataResponse(body);
  (void)DecodeStringList(body);
  (void)DecodeGetChildren2Response(body);
  (void)DecodeGetAclResponse(body);
  (void)DecodeCreate2Response(body);
  (void)DecodeString(body);
  (void)DecodeInt(body);
  (void)DecodeWhoAmIResponse(body);
  (void)DecodeSaslResponse(body);
  (void)DecodeMultiResponse(body, kOps);
  (void)DecodeMultiReadResponse(body, kReads);
  // The decoded-size budgets, small enough for fuzz inputs to hit them.
  (void)DecodeStringList(body, /*max_decoded_bytes=*/256);
  (void)DecodeGetChildren2Response(body, /*max_decoded_bytes=*/256);
  (void)DecodeMultiReadResponse(body, kReads, /*max_decoded_bytes=*/512);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // The first byte picks the chunk size, so splits land everywhere.
  size_t chunk = static_cast<size_t>(data[0]) + 1;
  std::span<const uint8_t> stream(data + 1, size - 1);
  FrameDecoder decoder(/*max_frame_bytes=*/4096);
  for (size_t offset = 0; offset < stream.size(); offset += chunk) {
    decoder.Append(stream.subspan(offset, std::min(chunk, stream.size() - offset)));
    for (;;) {
      auto frame = decoder.Next();
      if (!frame.ok() || !frame->has_value()) break;
      DecodeEverything((*frame)->payload);
    }
  }
  return 0;
}
