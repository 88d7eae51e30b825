#include "zkserver/zookeeper_cluster.h"

#include <gtest/gtest.h>
#include <signal.h>

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
