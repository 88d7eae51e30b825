#include "zkserver/zookeeper_cluster.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace zkarrow::zkserver {
namespace {

TEST(ZooKeeperClusterTest, StandaloneServesAndStops) {
  auto cluster = ZooKeeperCluster::Start({});
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  auto srvr = (*cluster)->FourLetterWord(0, "srvr");
  ASSERT_TRUE(srvr.ok()) << srvr.status().ToString();
  EXPECT_NE(srvr->find("Mode: standalone"), std::string::npos) << *srvr;
  EXPECT_EQ((*cluster)->ConnectString(), "127.0.0.1:" + std::to_string((*cluster)->client_port(0)));

  pid_t pid = (*cluster)->pid(0);
  std::filesystem::path root = (*cluster)->root();
  cluster->reset();
  EXPECT_NE(::kill(pid, 0), 0) << "server process still alive after destruction";
  EXPECT_FALSE(std::filesystem::exists(root));
}

// A directory whose owner died before removing it (killed, crashed) goes at
// the next start; one whose owner runs, or that names no owner, stays.
TEST(ZooKeeperClusterTest, StartRemovesTheDirectoriesOfDeadOwnersOnly) {
  const std::filesystem::path temp = std::filesystem::temp_directory_path();
  const std::string suffix = std::to_string(::getpid());
  // Owned by a process that has exited (forked, then reaped).
  const std::filesystem::path orphan = temp / ("zkarrow-zk-orphan-" + suffix);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  std::filesystem::create_directories(orphan / "server1" / "data");
  std::ofstream(orphan / "owner") << child << " 1\n";
  // This process's pid, with another start time: a later process given the
  // pid of the dead owner.
  const std::filesystem::path reused = temp / ("zkarrow-zk-reused-" + suffix);
  std::filesystem::create_directories(reused);
  std::ofstream(reused / "owner") << ::getpid() << " 1\n";
  // No owner file: kept on purpose (keep_files) or still being made.
  const std::filesystem::path unowned = temp / ("zkarrow-zk-unowned-" + suffix);
  std::filesystem::create_directories(unowned);

  auto first = ZooKeeperCluster::Start({});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(std::filesystem::exists(orphan));
  EXPECT_FALSE(std::filesystem::exists(reused));
  EXPECT_TRUE(std::filesystem::exists(unowned));
  // A second start sweeps again, while the first cluster's owner runs.
  auto second = ZooKeeperCluster::Start({});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE(std::filesystem::exists((*first)->root() / "server1" / "zoo.cfg"));
  EXPECT_TRUE(std::filesystem::exists(unowned));
  std::filesystem::remove_all(unowned);
}

TEST(ZooKeeperClusterTest, EnsembleElectsOneLeaderAndSurvivesAKill) {
  auto cluster = ZooKeeperCluster::Start({.servers = 3});
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  int leaders = 0;
  int leader_index = -1;
  for (int i = 0; i < 3; ++i) {
    auto srvr = (*cluster)->FourLetterWord(i, "srvr");
    ASSERT_TRUE(srvr.ok()) << srvr.status().ToString();
    if (srvr->find("Mode: leader") != std::string::npos) {
      ++leaders;
      leader_index = i;
    }
  }
  ASSERT_EQ(leaders, 1);
  ASSERT_TRUE((*cluster)->Kill(leader_index).ok());
  EXPECT_FALSE((*cluster)->running(leader_index));
  int survivor = (leader_index + 1) % 3;
  EXPECT_TRUE((*cluster)->WaitServing(survivor, std::chrono::seconds(30)).ok());
  Status restarted = (*cluster)->Restart(leader_index);
  EXPECT_TRUE(restarted.ok()) << restarted.ToString();
}

}  // namespace
}  // namespace zkarrow::zkserver
