#include "znodes/datadir/file_format.h"

#include <libdeflate.h>

#include <cstdio>

namespace zkarrow::znodes::datadir {
namespace {

std::string MagicName(int32_t magic) {
  std::string name;
  for (int shift = 24; shift >= 0; shift -= 8) {
    auto c = static_cast<char>((static_cast<uint32_t>(magic) >> shift) & 0xff);
    name += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return name;
}

}  // namespace

Result<FileHeader> ReadFileHeader(zk::JuteReader& reader, int32_t expected_magic) {
  FileHeader header;
  header.magic = reader.ReadInt();
  header.version = reader.ReadInt();
  header.dbid = reader.ReadLong();
  if (!reader.ok()) return reader.status().WithContext("reading the file header");
  if (header.magic != expected_magic) {
    return Status::InvalidData("bad magic number at offset 0: expected \"" +
                               MagicName(expected_magic) + "\", found \"" +
                               MagicName(header.magic) + "\"");
  }
  if (header.version != kFileFormatVersion) {
    return Status::InvalidData("unsupported file format version " + std::to_string(header.version) +
                               " at offset 4 (expected " + std::to_string(kFileFormatVersion) +
                               ")");
  }
  return header;
}

uint32_t Adler32(std::span<const uint8_t> bytes, uint32_t running) {
  return libdeflate_adler32(running, bytes.data(), bytes.size());
}

std::string ZxidToHex(int64_t zxid) {
  char text[24];
  std::snprintf(text, sizeof(text), "0x%llx",
                static_cast<unsigned long long>(static_cast<uint64_t>(zxid)));
  return text;
}

std::optional<int64_t> ZxidFromFileName(std::string_view name, std::string_view prefix) {
  if (name.size() <= prefix.size() + 1 || !name.starts_with(prefix) || name[prefix.size()] != '.') {
    return std::nullopt;
  }
  std::string_view rest = name.substr(prefix.size() + 1);
  // Snapshots may carry a compression suffix: snapshot.<zxid>.gz.
  rest = rest.substr(0, rest.find('.'));
  if (rest.empty() || rest.size() > 16) return std::nullopt;
  uint64_t zxid = 0;
  for (char c : rest) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      return std::nullopt;
    }
    zxid = (zxid << 4) | static_cast<uint64_t>(digit);
  }
  return static_cast<int64_t>(zxid);
}

}  // namespace zkarrow::znodes::datadir
