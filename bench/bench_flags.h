// The command line of a benchmark binary: "--name VALUE" pairs and -h/--help,
// one parser for every bench instead of a loop per main().
#pragma once

#include <cstdio>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>

namespace zkarrow::bench {

struct BenchFlag {
  const char* name;                             // "--nodes"
  std::function<void(const std::string&)> set;  // stores the value (std::stoll & co. may throw)
};

// Applies `flags` to argv. Returns the exit code main should return now
// (0 after --help, 2 after a bad flag or value, with `usage` printed), or
// nullopt to go on.
inline std::optional<int> ParseBenchFlags(int argc, char** argv, const char* usage,
                                          std::initializer_list<BenchFlag> flags) {
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") {
      std::printf("%s", usage);
      return 0;
    }
    const BenchFlag* match = nullptr;
    for (const BenchFlag& known : flags) {
      if (flag == known.name) match = &known;
    }
    if (!match || i + 1 >= argc) {
      std::fprintf(stderr, "%s %s\n%s", match ? "no value for" : "unknown option", flag.c_str(),
                   usage);
      return 2;
    }
    try {
      match->set(argv[i + 1]);
    } catch (const std::exception&) {
      std::fprintf(stderr, "bad value for %s: %s\n%s", flag.c_str(), argv[i + 1], usage);
      return 2;
    }
  }
  return std::nullopt;
}

}  // namespace zkarrow::bench
