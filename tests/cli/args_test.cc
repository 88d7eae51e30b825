// zkarrow's verbs refuse contradictory or malformed arguments with exit
// status 2 and a message that says what to do, before touching any output
// or waiting on a server; a query missing the option its table needs says
// which.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "support/znode_rows.h"

namespace zkarrow {
namespace {

struct Outcome {
  std::string output;  // stdout and stderr
  int exit_code;
};

// `zkarrow ARGS`, bounded: a command that waits instead of refusing its
// arguments is killed (exit 124).
Outcome RunZkarrow(const std::string& args) {
  auto output = testing::RunCommand("timeout 30 " + std::string(ZKARROW_BINARY) + " " + args +
                                    " 2>&1; echo \"exit=$?\"");
  EXPECT_TRUE(output.ok()) << output.status().ToString();
  std::string text = output.ok() ? *output : "";
  size_t at = text.rfind("exit=");
  return {text, at == std::string::npos ? -1 : std::stoi(text.substr(at + 5))};
}

Outcome RunSnapshot(const std::string& args) { return RunZkarrow("snapshot " + args); }

struct OnTerminal {
  std::string terminal;  // what reached the terminal
  std::string err;
  int exit_code = -1;
};

// `zkarrow ARGS` with stdout a terminal, a pseudo-terminal's slave end,
// bounded as RunZkarrow is.
OnTerminal RunOnTerminal(const std::string& args) {
  OnTerminal ran;
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0) {
    ADD_FAILURE() << "no pseudo-terminal: " << std::strerror(errno);
    return ran;
  }
  // Opened here, before the child runs, so that the master's reads end
  // (EIO) only once every holder of the slave closed it.
  const int slave = ::open(::ptsname(master), O_RDWR | O_NOCTTY);
  const std::filesystem::path err =
      std::filesystem::temp_directory_path() /
      ("zkarrow-args-test-terminal-" + std::to_string(::getpid()) + ".err");
  const std::string command = "exec timeout 30 " + std::string(ZKARROW_BINARY) + " " + args +
                              " 2>'" + err.string() + "' </dev/null";
  const pid_t pid = slave < 0 ? -1 : ::fork();
  if (pid == 0) {
    ::dup2(slave, STDOUT_FILENO);
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  if (slave >= 0) ::close(slave);
  char chunk[4096];
  while (pid > 0) {
    const ssize_t n = ::read(master, chunk, sizeof(chunk));
    if (n > 0) {
      ran.terminal.append(chunk, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(master);
  int status = 0;
  if (pid > 0 && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status)) {
    ran.exit_code = WEXITSTATUS(status);
  }
  std::ifstream in(err);
  std::stringstream text;
  text << in.rdbuf();
  ran.err = text.str();
  std::filesystem::remove(err);
  return ran;
}

TEST(SnapshotArgsTest, NeedsExactlyOneSource) {
  Outcome none = RunSnapshot("-o /dev/null");
  EXPECT_EQ(none.exit_code, 2) << none.output;
  EXPECT_NE(none.output.find("--zk"), std::string::npos) << none.output;
  Outcome both = RunSnapshot("--zk 127.0.0.1:1 --data-dir /tmp -o /dev/null");
  EXPECT_EQ(both.exit_code, 2) << both.output;
}

TEST(SnapshotArgsTest, LiveOnlyOptionsAreRefusedOffline) {
  for (const char* option :
       {"--no-data", "--acl", "--max-depth 2", "--exclude '/a*'", "--path /sub", "--sessions 2"}) {
    Outcome outcome = RunSnapshot(std::string("--data-dir /tmp -o /dev/null ") + option);
    EXPECT_EQ(outcome.exit_code, 2) << option << ": " << outcome.output;
    EXPECT_NE(outcome.output.find("apply to live reads"), std::string::npos) << outcome.output;
  }
}

TEST(SnapshotArgsTest, ZxidIsDecimalOrHexAndOnlyOffline) {
  Outcome live = RunSnapshot("--zk 127.0.0.1:1 --zxid 5 -o /dev/null");
  EXPECT_EQ(live.exit_code, 2) << live.output;
  std::filesystem::path out = std::filesystem::temp_directory_path() / "zkarrow-args-test.arrow";
  Outcome bad = RunSnapshot("--data-dir /tmp --zxid 0x1g -o " + out.string());
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("0x1g"), std::string::npos) << bad.output;
  EXPECT_FALSE(std::filesystem::exists(out)) << "a failed snapshot must not leave its output";
}

TEST(SnapshotArgsTest, EmptyOutputNameIsRefused) {
  Outcome outcome = RunSnapshot("--zk 127.0.0.1:1 -o ''");
  EXPECT_EQ(outcome.exit_code, 2) << outcome.output;
  EXPECT_NE(outcome.output.find("-o needs a file name"), std::string::npos) << outcome.output;
}

// The demo narrates on stdout: a table there would be mixed with its text.
TEST(DemoArgsTest, StdoutIsRefused) {
  Outcome outcome = RunZkarrow("demo -o -");
  EXPECT_EQ(outcome.exit_code, 2) << outcome.output;
  EXPECT_NE(outcome.output.find("zkarrow demo: -o - is not for the demo"), std::string::npos)
      << outcome.output;
  EXPECT_EQ(outcome.output.find("Starting"), std::string::npos) << outcome.output;
}

// An output that cannot be created is said before the server starts and
// the sample tree loads, which took seconds (minutes with a large --nodes)
// before the snapshot found out.
TEST(DemoArgsTest, AnOutputThatCannotBeCreatedIsSaidFirst) {
  for (const auto& [output, exit_code] :
       std::vector<std::pair<std::string, int>>{{"/nonexistent-dir/demo.arrow", 1}, {"/tmp", 2}}) {
    Outcome outcome = RunZkarrow("demo -o " + output);
    EXPECT_EQ(outcome.exit_code, exit_code) << output << ": " << outcome.output;
    EXPECT_NE(outcome.output.find("zkarrow demo: "), std::string::npos) << outcome.output;
    EXPECT_NE(outcome.output.find(output), std::string::npos) << outcome.output;
    EXPECT_EQ(outcome.output.find("Starting"), std::string::npos) << outcome.output;
  }
}

// query's --zxid is snapshot's: a negative one was taken (and looked for
// as 0xfffffffffffffffb), an overflowing one too (exit 0), a typo got
// CLI11's "Could not convert: --zxid = 0x1g".
TEST(SnapshotArgsTest, QueryTakesTheSameZxids) {
  for (const char* zxid : {"-5", "99999999999999999999", "0x1g"}) {
    Outcome outcome =
        RunZkarrow(std::string("query 'SELECT 1' --data-dir /tmp --format csv --zxid ") + zxid);
    EXPECT_EQ(outcome.exit_code, 2) << zxid << ": " << outcome.output;
    EXPECT_NE(outcome.output.find(std::string("zkarrow query: --zxid wants a zxid in decimal or "
                                              "0x hex, not '") +
                                  zxid + "'"),
              std::string::npos)
        << outcome.output;
  }
  Outcome hex = RunZkarrow("query 'SELECT 1' --data-dir /tmp --format csv --zxid 0x10");
  EXPECT_EQ(hex.exit_code, 0) << hex.output;
}

// A malformed --path is refused before connecting (no server listens on
// port 1): it was a failed run (exit 1) after the connect's wait, or, in
// serve, a server that retried it for ever.
TEST(ZnodePathArgsTest, MalformedPathIsAUsageError) {
  const std::filesystem::path store =
      std::filesystem::temp_directory_path() / "zkarrow-args-test-store";
  for (const std::string& command :
       {std::string("snapshot --zk 127.0.0.1:1 -o /dev/null --path sub"),
        std::string("watch --zk 127.0.0.1:1 -o /dev/null --path /sub/"),
        "serve --zk 127.0.0.1:1 --http 127.0.0.1:0 --store " + store.string() + " --path /a//b"}) {
    Outcome outcome = RunZkarrow(command);
    EXPECT_EQ(outcome.exit_code, 2) << command << ": " << outcome.output;
    EXPECT_NE(outcome.output.find(": --path: invalid znode path"), std::string::npos)
        << command << ": " << outcome.output;
  }
  std::filesystem::remove_all(store);
}

// A connect string or a source that cannot be parsed is the user's
// argument, whichever verb and wherever it is written (--zk, a zk:// URL,
// datadir:DIR@ZXID): exit 2, as snapshot's --zxid, not 1 (or diff's 4).
TEST(SourceArgsTest, MalformedConnectStringsAndSourcesAreUsageErrors) {
  for (const char* command : {
           "snapshot --zk 127.0.0.1:99999 -o /dev/null",
           "query 'SELECT 1' --zk 127.0.0.1:99999",
           "get zk://127.0.0.1:99999/datasets/x -o /dev/null",
           "diff zk://127.0.0.1:1/a zk://127.0.0.1:1/a/",
           "diff datadir:/tmp@0x1g datadir:/tmp",
           "restore datadir:/tmp zk://127.0.0.1:99999/a",
           "copy zk://127.0.0.1:0/a zk://127.0.0.1:1/b",
       }) {
    Outcome outcome = RunZkarrow(command);
    EXPECT_EQ(outcome.exit_code, 2) << command << ": " << outcome.output;
    EXPECT_TRUE(outcome.output.find("bad port") != std::string::npos ||
                outcome.output.find("expected") != std::string::npos)
        << command << ": " << outcome.output;
  }
}

// restore's and copy's target is named as the target, malformed or not
// answering: both said "source 'zk://...'" of a malformed one, and an
// unreachable one was not named at all.
TEST(SourceArgsTest, TheTargetIsNamedAsTheTarget) {
  for (const char* verb : {"restore", "copy"}) {
    Outcome malformed =
        RunZkarrow(std::string(verb) + " zk://127.0.0.1:1/a zk://127.0.0.1:99999/b --dry-run");
    EXPECT_EQ(malformed.exit_code, 2) << verb << ": " << malformed.output;
    EXPECT_NE(malformed.output.find("target 'zk://127.0.0.1:99999/b': bad port"), std::string::npos)
        << verb << ": " << malformed.output;
    EXPECT_EQ(malformed.output.find("source"), std::string::npos)
        << verb << ": " << malformed.output;
  }
  // Nothing listens on port 1: the target, connected to before the live
  // source is read, does not answer.
  Outcome unreachable = RunZkarrow("copy zk://127.0.0.1:1/a zk://127.0.0.1:1/b");
  EXPECT_EQ(unreachable.exit_code, 3) << unreachable.output;
  EXPECT_NE(unreachable.output.find("nothing was written: connecting to the target "
                                    "zk://127.0.0.1:1/b: no server of '127.0.0.1:1'"),
            std::string::npos)
      << unreachable.output;
}

// An unreachable source is named as the source: the error ("no server of
// '127.0.0.1:1' granted a session") did not say which side it was. A dry
// run reads the source before it connects to the target, so no server is
// needed here; tests/treesync has the copy into a target that answers.
TEST(SourceArgsTest, AnUnreachableSourceIsNamedAsTheSource) {
  Outcome unreachable = RunZkarrow("copy zk://127.0.0.1:1/a zk://127.0.0.1:1/b --dry-run");
  EXPECT_EQ(unreachable.exit_code, 3) << unreachable.output;
  EXPECT_NE(unreachable.output.find(
                "connecting to the source zk://127.0.0.1:1/a: no server of '127.0.0.1:1'"),
            std::string::npos)
      << unreachable.output;
}

// diff, restore and copy take their ensembles from zk:// sources: --help
// offered --zk ("Live ensemble: HOST:PORT..."), which they refuse.
TEST(SourceArgsTest, HelpDoesNotOfferTheRefusedZkOption) {
  for (const char* verb : {"diff", "restore", "copy"}) {
    Outcome help = RunZkarrow(std::string(verb) + " --help");
    EXPECT_EQ(help.exit_code, 0) << verb << ": " << help.output;
    EXPECT_EQ(help.output.find("--zk TEXT"), std::string::npos) << verb << ": " << help.output;
    EXPECT_NE(help.output.find("--auth-file"), std::string::npos) << verb << ": " << help.output;
    Outcome given =
        RunZkarrow(std::string(verb) + " datadir:/tmp zk://127.0.0.1:1/a --zk 127.0.0.1:1");
    EXPECT_EQ(given.exit_code, 2) << verb << ": " << given.output;
    EXPECT_NE(given.output.find("--zk is not used"), std::string::npos)
        << verb << ": " << given.output;
  }
}

// As every other output: watch said "I/O error: opening /tmp: Is a
// directory" and exited 1.
TEST(OutputArgsTest, DirectoryIsRefused) {
  for (const char* command : {"watch --zk 127.0.0.1:1 -o /tmp", "snapshot --zk 127.0.0.1:1 -o /tmp",
                              "query 'SELECT 1' -o /tmp"}) {
    Outcome outcome = RunZkarrow(command);
    EXPECT_EQ(outcome.exit_code, 2) << command << ": " << outcome.output;
    EXPECT_NE(outcome.output.find("-o /tmp is a directory; name a file"), std::string::npos)
        << command << ": " << outcome.output;
  }
}

// A rotation pattern without rotation is refused, naming the options that
// rotate: watch wrote one file literally named w-%d.arrows.
TEST(OutputArgsTest, WatchPatternWithoutRotationIsRefused) {
  const std::filesystem::path pattern =
      std::filesystem::temp_directory_path() / "zkarrow-args-test-w-%05d.arrows";
  Outcome outcome = RunZkarrow("watch --zk 127.0.0.1:1 --for 1 -o '" + pattern.string() + "'");
  EXPECT_EQ(outcome.exit_code, 2) << outcome.output;
  EXPECT_NE(outcome.output.find(": a %d-style pattern numbers rotated files; give --rotate-rows "
                                "or --rotate-seconds, or name a single file"),
            std::string::npos)
      << outcome.output;
  EXPECT_FALSE(std::filesystem::exists(pattern));
}

// Arrow IPC bound for stdout is refused when stdout is a terminal, before
// any work (no server listens on port 1, no directory is there): the verbs
// wrote the binary to the terminal, or first waited on the server.
TEST(OutputArgsTest, ArrowIsNotWrittenToATerminal) {
  for (const char* command : {
           "snapshot --zk 127.0.0.1:1 -o -",
           "watch --zk 127.0.0.1:1 -o -",
           "txnlog --data-dir /nonexistent -o -",
           "get http://127.0.0.1:1/znodes -o -",
           "convert /nonexistent.arrow -",
           "query 'SELECT 1' --format arrow",
           "diff datadir:/nonexistent datadir:/nonexistent --format arrow",
           "restore datadir:/nonexistent zk://127.0.0.1:1/a --dry-run --format arrow",
       }) {
    OnTerminal ran = RunOnTerminal(command);
    EXPECT_EQ(ran.exit_code, 2) << command << ": " << ran.err;
    EXPECT_NE(ran.err.find("refusing to write Arrow IPC bytes to a terminal; redirect stdout or "),
              std::string::npos)
        << command << ": " << ran.err;
    EXPECT_EQ(ran.terminal, "") << command;
  }
  // Text is for terminals: a query's default there is the table.
  OnTerminal table = RunOnTerminal("query 'SELECT 41 + 1 AS answer'");
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.terminal.find("answer"), std::string::npos) << table.terminal;
  EXPECT_NE(table.terminal.find("42"), std::string::npos) << table.terminal;
}

// serve --coord's options that cannot go together are refused before the
// store, the tree or a listener starts: they were failed runs (exit 1)
// with the library's words ("expected keep_versions >= 1 and 1 <=
// ack_replicas <= replicas, found 2, 2, 1"), a bad --server-id only once
// the listeners were up.
TEST(ServeArgsTest, CoordinationOptionsAreRefusedBeforeStarting) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / "zkarrow-args-test-coord";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::filesystem::path token = dir / "token";
  std::ofstream(token) << "s3cret\n";
  std::filesystem::permissions(
      token, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  const std::filesystem::path store = dir / "store";
  const std::string serve =
      "serve --zk 127.0.0.1:1 --http 127.0.0.1:0 --store " + store.string() + " --coord ";
  for (const auto& [options, expected] : std::vector<std::pair<std::string, std::string>>{
           {"--replicas 1 --ack-replicas 2",
            "expected --ack-replicas at most --replicas (1), found 2"},
           {"--token-file " + token.string(), "(--peer-tls-ca) with --token-file, found none"},
           {"--coord-root zk", "--coord-root: expected an absolute znode path"},
           {"--server-id a/b", "--server-id: a server id is 1 to 64 characters"},
       }) {
    Outcome outcome = RunZkarrow(serve + options);
    EXPECT_EQ(outcome.exit_code, 2) << options << ": " << outcome.output;
    EXPECT_NE(outcome.output.find(expected), std::string::npos)
        << options << ": " << outcome.output;
    EXPECT_EQ(outcome.output.find("HTTP on"), std::string::npos)
        << options << ": " << outcome.output;
    EXPECT_FALSE(std::filesystem::exists(store)) << options << ": the store was created";
    std::filesystem::remove_all(store);
  }
  std::filesystem::remove_all(dir);
}

// serve's --ports-file is refused, under its own name, before anything
// starts: a directory was "-o /tmp is a directory" once the listeners were
// up, a missing directory an I/O error after them.
TEST(ServeArgsTest, APortsFileThatCannotBeWrittenIsRefusedBeforeStarting) {
  const std::filesystem::path store =
      std::filesystem::temp_directory_path() / "zkarrow-args-test-ports-store";
  std::filesystem::remove_all(store);
  const std::string serve =
      "serve --zk 127.0.0.1:1 --http 127.0.0.1:0 --store " + store.string() + " --ports-file ";
  for (const auto& [file, exit_code, expected] :
       std::vector<std::tuple<std::string, int, std::string>>{
           {"/tmp", 2, "--ports-file /tmp is a directory; name a file"},
           {"/nonexistent-dir/ports.json", 1, "/nonexistent-dir"},
       }) {
    Outcome outcome = RunZkarrow(serve + file);
    EXPECT_EQ(outcome.exit_code, exit_code) << file << ": " << outcome.output;
    EXPECT_NE(outcome.output.find(expected), std::string::npos) << file << ": " << outcome.output;
    EXPECT_EQ(outcome.output.find("HTTP on"), std::string::npos) << file << ": " << outcome.output;
    EXPECT_FALSE(std::filesystem::exists(store)) << file << ": the store was created";
    std::filesystem::remove_all(store);
  }
}

// An output in a directory that does not exist fails at once, as
// snapshot's: watch found out only once connected and done with its
// initial read, and with no server answering it waited out the connect
// timeout and said only that (exit 3).
TEST(OutputArgsTest, AMissingDirectoryIsSaidBeforeConnecting) {
  for (const char* command : {"watch --zk 127.0.0.1:1 -o /nonexistent-dir/x.arrows",
                              "watch --zk 127.0.0.1:1 -o /nonexistent-dir/x-%03d.arrows "
                              "--rotate-rows 10",
                              "snapshot --zk 127.0.0.1:1 -o /nonexistent-dir/x.arrow"}) {
    const auto started = std::chrono::steady_clock::now();
    Outcome outcome = RunZkarrow(command);
    EXPECT_EQ(outcome.exit_code, 1) << command << ": " << outcome.output;
    EXPECT_NE(outcome.output.find("I/O error: creating "), std::string::npos)
        << command << ": " << outcome.output;
    EXPECT_NE(outcome.output.find("/nonexistent-dir"), std::string::npos)
        << command << ": " << outcome.output;
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5))
        << command << ": " << outcome.output;
  }
}

// Numbers out of their range are refused in words; CLI11's own checks said
// "Value 0 not in range 0.000000 to 179769313486231570814527...".
TEST(NumberArgsTest, SignIsCheckedInWords) {
  for (const auto& [command, expected] : std::vector<std::pair<std::string, std::string>>{
           {"watch --zk 127.0.0.1:1 -o /dev/null --for 0",
            "--for: expected a number > 0, found '0'"},
           {"cat /dev/null --limit -2", "--limit: expected a number >= 0, found '-2'"},
           {"snapshot --zk 127.0.0.1:1 -o /dev/null --max-depth -1",
            "--max-depth: expected a number >= 0"},
           {"restore datadir:/tmp zk://127.0.0.1:1/a --in-flight 0",
            "--in-flight: expected a number > 0"},
           {"get http://127.0.0.1:1/znodes -o /dev/null --for nan", "--for: expected a number > 0"},
       }) {
    Outcome outcome = RunZkarrow(command);
    EXPECT_EQ(outcome.exit_code, 2) << command << ": " << outcome.output;
    EXPECT_NE(outcome.output.find(expected), std::string::npos)
        << command << ": " << outcome.output;
    EXPECT_EQ(outcome.output.find("179769"), std::string::npos)
        << command << ": " << outcome.output;
  }
}

// A query of the tree's or the logs' table without the option that gives
// it names that option (SQLite alone said "no such table: znodes").
TEST(QueryArgsTest, ATableWithoutItsSourceNamesTheOption) {
  Outcome tree = RunZkarrow("query 'SELECT count(*) FROM znodes' --format csv");
  EXPECT_EQ(tree.exit_code, 1) << tree.output;
  EXPECT_NE(tree.output.find("no such table: znodes; the znodes table is the tree of --zk, "
                             "--data-dir or --server: give one"),
            std::string::npos)
      << tree.output;
  Outcome logs = RunZkarrow("query 'SELECT count(*) FROM txns' --format csv");
  EXPECT_EQ(logs.exit_code, 1) << logs.output;
  EXPECT_NE(logs.output.find("the txns table is the transaction logs of --data-dir"),
            std::string::npos)
      << logs.output;
  // Other SQL errors are as SQLite says them.
  Outcome other = RunZkarrow("query 'SELECT count(*) FROM nothing_here' --format csv");
  EXPECT_EQ(other.exit_code, 1) << other.output;
  EXPECT_NE(other.output.find("no such table: nothing_here\n"), std::string::npos) << other.output;
}

// --explain's plan goes where the rows would have: -o FILE was ignored (the
// plan on stdout, no file).
TEST(QueryArgsTest, ExplainHonoursTheOutputFile) {
  const std::filesystem::path out =
      std::filesystem::temp_directory_path() / "zkarrow-args-test-explain.txt";
  std::filesystem::remove(out);
  Outcome outcome = RunZkarrow("query 'SELECT 1' --explain -o " + out.string());
  EXPECT_EQ(outcome.exit_code, 0) << outcome.output;
  EXPECT_EQ(outcome.output.find("scan(s)"), std::string::npos) << outcome.output;
  auto plan = testing::RunCommand("cat " + out.string());
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->starts_with("1 row(s); 0 scan(s):\n")) << *plan;
  EXPECT_NE(plan->find("held at most"), std::string::npos) << *plan;
  std::filesystem::remove(out);
}

}  // namespace
}  // namespace zkarrow
