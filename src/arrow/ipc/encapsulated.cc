#include "arrow/ipc/encapsulated.h"

#include <algorithm>
#include <array>
#include <string>

#include "arrow/ipc/flatbuf.h"
#include "arrow/ipc/message.h"

namespace zkarrow::arrow::ipc {

namespace {

Result<int64_t> VerifiedBodyLength(const Buffer& metadata) {
  ZKA_ASSIGN_OR_RETURN(const fb::Message* header, VerifyMessage(metadata, IpcReadOptions{}));
  if (header->bodyLength() < 0) {
    return Status::InvalidData("message declares a negative body length " +
                               std::to_string(header->bodyLength()));
  }
  return header->bodyLength();
}

}  // namespace

Status MessageSplitter::Write(std::span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    switch (state_) {
      case State::kEnded:
        return Status::InvalidData("bytes written after the end-of-stream marker");
      case State::kPrefix: {
        size_t take = std::min(bytes.size(), sizeof(prefix_) - static_cast<size_t>(filled_));
        std::copy_n(bytes.data(), take, prefix_ + filled_);
        filled_ += static_cast<int64_t>(take);
        bytes = bytes.subspan(take);
        if (filled_ < static_cast<int64_t>(sizeof(prefix_))) break;
        if (LoadUint32Le(prefix_) != kContinuationToken) {
          return Status::InvalidData("expected a continuation token before a message");
        }
        part_size_ = LoadUint32Le(prefix_ + 4);
        filled_ = 0;
        if (part_size_ == 0) {
          state_ = State::kEnded;
        } else if (part_size_ > INT32_MAX) {
          return Status::InvalidData("message metadata length " + std::to_string(part_size_) +
                                     " exceeds 2 GiB");
        } else {
          state_ = State::kMetadata;
          part_.Reserve(part_size_);
        }
        break;
      }
      case State::kMetadata:
      case State::kBody: {
        int64_t take = std::min(static_cast<int64_t>(bytes.size()), part_size_ - filled_);
        part_.Append(bytes.data(), take);
        filled_ += take;
        bytes = bytes.subspan(static_cast<size_t>(take));
        if (filled_ < part_size_) break;
        filled_ = 0;
        if (state_ == State::kMetadata) {
          ZKA_RETURN_IF_ERROR(FinishMetadata());
        } else {
          done_.push_back({std::move(metadata_), part_.Finish()});
          state_ = State::kPrefix;
        }
        break;
      }
    }
  }
  return Status::Ok();
}

Status MessageSplitter::FinishMetadata() {
  metadata_ = part_.Finish();
  ZKA_ASSIGN_OR_RETURN(part_size_, VerifiedBodyLength(*metadata_));
  if (part_size_ == 0) {
    done_.push_back({std::move(metadata_), nullptr});
    state_ = State::kPrefix;
  } else {
    state_ = State::kBody;
    // The whole body at once: grown piece by piece it would be copied each
    // time its capacity doubles, and end up to twice its size.
    part_.Reserve(part_size_);
  }
  return Status::Ok();
}

std::vector<EncapsulatedMessage> MessageSplitter::TakeMessages() {
  std::vector<EncapsulatedMessage> messages;
  messages.swap(done_);
  return messages;
}

Status WriteFramed(OutputStream& out, const EncapsulatedMessage& message) {
  if (!message.metadata) return Status::InvalidArgument("a message without metadata");
  ZKA_RETURN_IF_ERROR(WriteFramedMetadata(out, message.metadata->bytes()).status());
  if (message.body && message.body->size() > 0)
    ZKA_RETURN_IF_ERROR(out.Write(message.body->bytes()));
  return Status::Ok();
}

Result<int64_t> CheckEncapsulated(const EncapsulatedMessage& message) {
  if (!message.metadata || message.metadata->size() == 0) {
    return Status::InvalidData("a message without metadata (empty data_header)");
  }
  auto aligned = EnsureAligned(message.metadata);
  ZKA_ASSIGN_OR_RETURN(int64_t body_length, VerifiedBodyLength(*aligned));
  int64_t body_size = message.body ? message.body->size() : 0;
  if (body_length != body_size) {
    return Status::InvalidData("message declares a body of " + std::to_string(body_length) +
                               " bytes, found " + std::to_string(body_size));
  }
  return 8 + PaddedTo(message.metadata->size(), 8) + body_size;
}

}  // namespace zkarrow::arrow::ipc
