// Where a command writes its Arrow output: stdout for "-", otherwise a file
// that appears only when the command succeeds, whole.
//
// The data goes to an unnamed file (O_TMPFILE) in the destination's
// directory, given its name by Commit(): a failed, interrupted (SIGINT,
// SIGTERM, SIGKILL) or crashed run leaves nothing behind and never clobbers
// an old file, with no cleanup code that has to run. On file systems without
// O_TMPFILE the data goes to `OUT.tmp-PID`, which the destructor removes and
// which a SIGINT/SIGTERM handler unlinks before the process dies.
//
// A destination that exists and is not a regular file (/dev/null, a FIFO) is
// written in place. A file a reader follows while it grows (watch -o FILE)
// gets its name early, by NameNow(), and is written in place from then on.
//
// With `direct_io` a file is written without the page cache (O_DIRECT), from
// a second thread while the next bytes are produced: for outputs of hundreds
// of megabytes, where copying every byte into the page cache and writing it
// back at the fsync cost more than producing them. Reading the file right
// afterwards then reads it from the disk. File systems that refuse O_DIRECT
// get the page cache.
//
// The committed file keeps the permission bits of the file it replaces (a
// snapshot taken with credentials may be meant for its owner only); a new
// file gets 0666 less the umask, as any file would.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "arrow/io.h"
#include "base/status.h"

namespace zkarrow::cli {

struct OutputOptions {
  bool direct_io = false;
  // The option that named the destination, for the messages that refuse it.
  std::string option = "-o";
  // A file that must not exist yet, created by Open and written in place
  // (watch's rotated files, which never replace one another): Open fails
  // with EEXIST in the status' detail when it exists.
  bool create_new = false;
  // Makes writes to a pipe or socket (stdout, a FIFO) give up on a reader
  // that stopped reading once this says so: arrow::FileOutputStream's
  // SetCancelCheck. A file written with direct_io, no pipe, ignores it.
  std::function<bool()> cancel_check;
};

class OutputTarget {
 public:
  static Result<std::unique_ptr<OutputTarget>> Open(const std::string& destination,
                                                    OutputOptions options = {});
  ~OutputTarget();  // discards the data unless committed or named
  OutputTarget(const OutputTarget&) = delete;
  OutputTarget& operator=(const OutputTarget&) = delete;

  arrow::OutputStream& stream() { return *stream_; }
  bool is_stdout() const { return final_path_.empty(); }
  // Bytes written so far.
  int64_t bytes_written() const;

  // Flushes, makes the data durable and gives it its name. On failure the
  // destination is untouched. After NameNow: flushes and closes the file.
  Status Commit();

  // Gives the file written so far its name now, as Commit would (the mode
  // of the file it replaces, the data durable first), and keeps it open:
  // later writes grow the named file, which a reader can follow, and the
  // destructor without Commit closes it as it is instead of discarding it.
  // Does nothing for stdout, a file written in place, or once named.
  // REQUIRES: Commit not called.
  Status NameNow();

  // Cuts the file back to its first `bytes` bytes (a writer's last whole
  // message, after a write the file refused). Does nothing for stdout, a
  // device or a FIFO, which cannot be cut. REQUIRES: no direct_io (every
  // byte written is in the file), Commit not called.
  Status TruncateTo(int64_t bytes);

  // With a cancel_check, stdout or a FIFO whose reader closed it: the error
  // a write would give, told without one (a quiet writer may have nothing
  // to write for a long time). Ok otherwise.
  Status CheckReader() const;

 private:
  OutputTarget() = default;
  Status OpenFile(const std::string& destination, const OutputOptions& options);
  Status SyncBeside();  // gives the data its mode, syncs it and names it temp_path_
  Status RenameOver();  // renames temp_path_ to the destination
  std::string ThroughTemporary() const;
  std::string name() const;  // the destination, or "stdout", for messages

  int fd_ = -1;  // the output file (unnamed or temporary), closed by Commit or the destructor
  std::unique_ptr<arrow::OutputStream> file_;    // writes fd_ (or stdout)
  arrow::FileOutputStream* plain_ = nullptr;     // under file_, unless it writes with O_DIRECT
  std::unique_ptr<arrow::OutputStream> stream_;  // counts bytes, forwards to file_
  std::filesystem::path final_path_;
  std::filesystem::path temp_path_;  // empty while the file has no name
  bool in_place_ = false;            // a device or FIFO, a created or named file: written directly
  bool special_ = false;             // a device, FIFO or socket: never cut
  bool committed_ = false;
};

// Arrow IPC is binary: on a terminal it is noise, and bytes the terminal may
// take for control sequences, never what was meant. A UsageError when
// `destination` is stdout ("-") and stdout is a terminal; each verb that
// writes Arrow checks it before any work. `file_hint` says how that verb
// names a file instead.
Status CheckArrowNotToTerminal(const std::string& destination,
                               std::string_view file_hint = "give -o FILE");

// The name a file's data has beside it before it is renamed to it:
// `FILE.tmp-PID`, FILE's last component cut short so that it fits NAME_MAX
// (a file name as long as the file system allows would otherwise fail to
// be written).
std::filesystem::path TemporaryNameFor(const std::filesystem::path& destination);

// Flushes std::cout and C's stdout (the text outputs: cat, inspect, query's
// and diff's formats, query --explain): OK, or an IoError that says, as
// OutputTarget's writes do, when the reader closed the pipe (the failed
// write left EPIPE in errno; SIGPIPE is ignored).
Status FlushStdout();

}  // namespace zkarrow::cli
