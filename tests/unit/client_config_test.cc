// mvirt-zfsctl's client config file: which file, what it may say, and that
// the environment and the command line override it.
#include "cli/client_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>

namespace mvirt::zfs::cli {
namespace {

using ::testing::HasSubstr;

class ClientConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/mvirt-zfsctl-config-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  std::string Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
    return dir_ + "/" + name;
  }
  EnvLookup Env() {
    return [this](const std::string& name) -> std::optional<std::string> {
      auto it = env_.find(name);
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
  }
  std::string dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(ClientConfigTest, TheCommandLineThenTheEnvironmentThenTheUsersFileName) {
  const std::string named = Write("named.toml", "");
  const std::string from_env = Write("env.toml", "");
  env_["MVIRT_ZFSCTL_CONFIG"] = from_env;
  env_["HOME"] = dir_;
  EXPECT_EQ(*FindClientConfig({"--config", named, "volume", "list"}, Env()), named);
  EXPECT_EQ(*FindClientConfig({"--config=" + named}, Env()), named);
  EXPECT_EQ(*FindClientConfig({"volume", "list"}, Env()), from_env);
  env_.erase("MVIRT_ZFSCTL_CONFIG");
  EXPECT_EQ(*FindClientConfig({}, Env()), std::nullopt) << "none in ~/.config (and no /etc one)";
  ASSERT_EQ(std::system(("mkdir -p " + dir_ + "/.config").c_str()), 0);
  const std::string user = Write(".config/mvirt-zfsctl.toml", "");
  EXPECT_EQ(*FindClientConfig({}, Env()), user);
  env_["XDG_CONFIG_HOME"] = dir_ + "/xdg";
  EXPECT_EQ(*FindClientConfig({}, Env()), std::nullopt) << "XDG_CONFIG_HOME replaces ~/.config";
}

TEST_F(ClientConfigTest, ANamedFileMustExist) {
  absl::StatusOr<std::optional<std::string>> found =
      FindClientConfig({"--config", dir_ + "/missing.toml"}, Env());
  EXPECT_EQ(found.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(found.status().message(), HasSubstr("missing.toml (--config) does not exist"));
  env_["MVIRT_ZFSCTL_CONFIG"] = dir_ + "/gone.toml";
  found = FindClientConfig({}, Env());
  EXPECT_THAT(found.status().message(), HasSubstr("gone.toml ($MVIRT_ZFSCTL_CONFIG)"));
}

TEST_F(ClientConfigTest, SetsTheGlobalOptions) {
  GlobalOptions options;
  ASSERT_TRUE(ApplyClientConfig(Write("c.toml",
                                      "# the node agent's daemon\n"
                                      "endpoint = \"unix:/run/mvirt-zfs/mvirt-zfs.sock\"\n"
                                      "timeout = 120\n"
                                      "output = \"wide\"\n"
                                      "json = true\n"),
                                options)
                  .ok());
  EXPECT_EQ(options.connection.endpoint, "unix:/run/mvirt-zfs/mvirt-zfs.sock");
  EXPECT_EQ(options.connection.timeout_seconds, 120);
  EXPECT_EQ(options.output, "wide");
  EXPECT_TRUE(options.json);
}

TEST_F(ClientConfigTest, UnknownKeysAndBadValuesNameTheFileAndKey) {
  GlobalOptions options;
  absl::Status s = ApplyClientConfig(Write("a.toml", "endpont = \"x:1\"\n"), options);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("a.toml: unknown key 'endpont'"));
  s = ApplyClientConfig(Write("b.toml", "timeout = -3\n"), options);
  EXPECT_THAT(s.message(), HasSubstr("'timeout' must be a number of seconds greater than 0"));
  s = ApplyClientConfig(Write("d.toml", "output = \"tall\"\n"), options);
  EXPECT_THAT(s.message(), HasSubstr("'output' must be table, wide or json"));
  s = ApplyClientConfig(Write("c.toml", "json = maybe\n"), options);
  EXPECT_THAT(s.message(), HasSubstr("'json' must be true or false"));
  EXPECT_EQ(options.connection.endpoint, "localhost:50053") << "nothing applied from bad files";
}

// The binary: the file's endpoint is used unless the environment or the
// command line says otherwise (an address nobody listens on: the error
// names the address tried).
TEST_F(ClientConfigTest, TheProgramUsesItBelowEnvironmentAndFlags) {
  const std::string config = Write("c.toml", "endpoint = \"unix:" + dir_ + "/from-file.sock\"\n");
  auto run = [&](const std::string& prefix, const std::string& args) {
    std::string command = prefix + " " + MVIRT_CLI_PATH + " --config " + config + " --timeout 5 " +
                          args + " version 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    std::string out;
    char buf[512];
    while (std::fgets(buf, sizeof(buf), pipe) != nullptr) out += buf;
    ::pclose(pipe);
    return out;
  };
  EXPECT_THAT(run("env -u MVIRT_ZFS_ENDPOINT", ""), HasSubstr("from-file.sock"));
  EXPECT_THAT(run("MVIRT_ZFS_ENDPOINT=unix:" + dir_ + "/from-env.sock", ""),
              HasSubstr("from-env.sock"));
  EXPECT_THAT(run("MVIRT_ZFS_ENDPOINT=unix:" + dir_ + "/from-env.sock",
                  "--endpoint unix:" + dir_ + "/from-flag.sock"),
              HasSubstr("from-flag.sock"));
}

}  // namespace
}  // namespace mvirt::zfs::cli
