#include "daemon/options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace mvirt::zfs {
namespace {

using ::testing::HasSubstr;

class TempFile;
ParsedCommandLine Parse(std::vector<std::string> args);

class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char path[] = "/tmp/mvirt-zfs-options-XXXXXX";
    int fd = mkstemp(path);
    path_ = path;
    FILE* f = fdopen(fd, "w");
    std::fputs(content.c_str(), f);
    std::fclose(f);
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

ParsedCommandLine Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "mvirt-zfs");
  // Never read the host's real config file in a unit test: default to an
  // empty one.
  TempFile empty("");
  bool has_config = false;
  for (const auto& a : args) has_config = has_config || a.rfind("--config", 0) == 0;
  if (!has_config) args.push_back("--config=" + empty.path());
  return ParseDaemonCommandLine(args);
}

TEST(DaemonOptions, Defaults) {
  ParsedCommandLine p = Parse({});
  ASSERT_TRUE(p.run) << p.message;
  EXPECT_EQ(p.options.pool, "vmpool");
  EXPECT_EQ(p.options.listen, "[::1]:50053");
  EXPECT_EQ(p.options.log_level, LogLevel::kInfo);
  EXPECT_EQ(p.options.shutdown_timeout_seconds, 30);
  EXPECT_EQ(p.options.abandon_receive_after_seconds, 7 * 24 * 3600);
}

TEST(DaemonOptions, Flags) {
  ParsedCommandLine p = Parse({"--pool", "tank", "--listen", "unix:/run/z.sock", "--log-level",
                               "debug", "--abandon-receive-after", "0"});
  ASSERT_TRUE(p.run) << p.message;
  EXPECT_EQ(p.options.abandon_receive_after_seconds, 0) << "never";
  EXPECT_EQ(p.options.pool, "tank");
  EXPECT_EQ(p.options.listen, "unix:/run/z.sock");
  EXPECT_EQ(p.options.log_level, LogLevel::kDebug);
}

TEST(DaemonOptions, ConfigFileWithTheSameKeysAndFlagsOverride) {
  TempFile config("pool = \"tank\"\nlisten = \"127.0.0.1:6000\"\nlog-level = \"warning\"\n");
  ParsedCommandLine p = Parse({"--config", config.path()});
  ASSERT_TRUE(p.run) << p.message;
  EXPECT_EQ(p.options.pool, "tank");
  EXPECT_EQ(p.options.listen, "127.0.0.1:6000");
  EXPECT_EQ(p.options.log_level, LogLevel::kWarning);

  ParsedCommandLine overridden = Parse({"--config", config.path(), "--pool", "fast"});
  ASSERT_TRUE(overridden.run);
  EXPECT_EQ(overridden.options.pool, "fast");
  EXPECT_EQ(overridden.options.listen, "127.0.0.1:6000");
}

TEST(DaemonOptions, UnknownConfigKeyIsAnError) {
  TempFile config("pol = \"tank\"\n");
  ParsedCommandLine p = Parse({"--config", config.path()});
  EXPECT_FALSE(p.run);
  EXPECT_NE(p.exit_code, 0);
  EXPECT_THAT(p.message, HasSubstr("pol")) << p.message;
}

TEST(DaemonOptions, ExplicitConfigFileMustExist) {
  ParsedCommandLine p = Parse({"--config", "/nonexistent/mvirt-zfs.toml"});
  EXPECT_FALSE(p.run);
  EXPECT_THAT(p.message, HasSubstr("/nonexistent/mvirt-zfs.toml")) << p.message;
}

TEST(DaemonOptions, BadValuesFailWithAMessage) {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const Case cases[] = {
      {{"--log-level", "loud"}, "invalid log level 'loud'"},
      {{"--listen", "nowhere"}, "invalid listen address 'nowhere'"},
      {{"--listen", "unix:relative"}, "absolute path"},
      {{"--listen", "[::1]:70000"}, "invalid listen address"},
      {{"--pool", "bad/pool"}, "invalid pool name 'bad/pool'"},
      {{"--pool", ""}, "invalid pool name"},
      {{"--bogus"}, "bogus"},
  };
  for (const Case& c : cases) {
    ParsedCommandLine p = Parse(c.args);
    EXPECT_FALSE(p.run) << c.args[0];
    EXPECT_EQ(p.exit_code, c.args[0] == "--bogus" ? 109 : 2) << p.message;
    EXPECT_THAT(p.message, HasSubstr(c.says)) << p.message;
  }
  ParsedCommandLine negative = Parse({"--abandon-receive-after", "-1"});
  EXPECT_FALSE(negative.run);
  EXPECT_NE(negative.exit_code, 0);
  EXPECT_THAT(negative.message, HasSubstr("--abandon-receive-after: Value -1 not in range"));
}

TEST(DaemonOptions, ImportDefaults) {
  ParsedCommandLine p = Parse({});
  ASSERT_TRUE(p.run) << p.message;
  const ImportOptions& im = p.options.import;
  EXPECT_EQ(im.state_dir, "/var/lib/mvirt-zfs");
  EXPECT_EQ(im.import_dirs, std::vector<std::string>{"/var/lib/mvirt-zfs/images"});
  EXPECT_FALSE(im.allow_http);
  EXPECT_EQ(im.ca_file, "");
  EXPECT_EQ(im.max_image_bytes, 1ull << 40);
  EXPECT_EQ(im.max_concurrent, 2);
  EXPECT_EQ(im.qemu_img, "qemu-img");
}

TEST(DaemonOptions, ImportFlagsAndConfigKeys) {
  ParsedCommandLine p =
      Parse({"--state-dir", "/srv/state", "--import-dir", "/srv/a", "--import-dir", "/srv/b",
             "--import-allow-http", "--import-ca-file", "/etc/ca.pem", "--import-max-size", "500G",
             "--import-concurrency", "4", "--qemu-img", "/opt/qemu/bin/qemu-img"});
  ASSERT_TRUE(p.run) << p.message;
  const ImportOptions& im = p.options.import;
  EXPECT_EQ(im.state_dir, "/srv/state");
  EXPECT_EQ(im.import_dirs, (std::vector<std::string>{"/srv/a", "/srv/b"}));
  EXPECT_TRUE(im.allow_http);
  EXPECT_EQ(im.ca_file, "/etc/ca.pem");
  EXPECT_EQ(im.max_image_bytes, 500ull << 30);
  EXPECT_EQ(im.max_concurrent, 4);
  EXPECT_EQ(im.qemu_img, "/opt/qemu/bin/qemu-img");

  TempFile config(
      "state-dir = \"/srv/s\"\nimport-dir = [\"/srv/x\", \"/srv/y\"]\n"
      "import-max-size = \"2T\"\nimport-allow-http = true\n");
  p = Parse({"--config", config.path()});
  ASSERT_TRUE(p.run) << p.message;
  EXPECT_EQ(p.options.import.state_dir, "/srv/s");
  EXPECT_EQ(p.options.import.import_dirs, (std::vector<std::string>{"/srv/x", "/srv/y"}));
  EXPECT_EQ(p.options.import.max_image_bytes, 2ull << 40);
  EXPECT_TRUE(p.options.import.allow_http);
}

TEST(DaemonOptions, BadImportFlagsFailWithAMessage) {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const Case cases[] = {
      {{"--import-max-size", "huge"}, "--import-max-size 'huge'"},
      {{"--import-max-size", "0"}, "--import-max-size '0'"},
      {{"--state-dir", "relative"}, "--state-dir 'relative' must be an absolute path"},
      {{"--import-dir", "images"}, "--import-dir 'images' must be an absolute path"},
      {{"--import-ca-file", "ca.pem"}, "--import-ca-file 'ca.pem' must be an absolute path"},
  };
  for (const Case& c : cases) {
    ParsedCommandLine p = Parse(c.args);
    EXPECT_FALSE(p.run) << c.args[0];
    EXPECT_EQ(p.exit_code, 2) << p.message;
    EXPECT_THAT(p.message, HasSubstr(c.says)) << p.message;
  }
}

TEST(DaemonOptions, AccessAndTlsFlags) {
  ParsedCommandLine p = Parse({"--listen", "unix:/run/mvirt-zfs/s.sock", "--socket-mode", "0600",
                               "--socket-group", "mvirt", "--max-watchers", "10"});
  ASSERT_TRUE(p.run) << p.message;
  EXPECT_EQ(p.options.socket_mode, 0600);
  EXPECT_EQ(p.options.socket_group, "mvirt");
  EXPECT_EQ(p.options.max_watchers, 10);
  EXPECT_EQ(Parse({}).options.socket_mode, 0660) << "the default";

  p = Parse({"--listen", "0.0.0.0:50053", "--tls-cert", "/etc/c.pem", "--tls-key", "/etc/k.pem",
             "--tls-client-ca", "/etc/ca.pem"});
  ASSERT_TRUE(p.run) << p.message;
  EXPECT_EQ(p.options.tls_client_ca, "/etc/ca.pem");
  p = Parse({"--listen", "10.0.0.1:50053", "--insecure-listen"});
  EXPECT_TRUE(p.run) << p.message;
  p = Parse({"--listen", "unix:/s.sock", "--peer-ca", "/etc/ca.pem", "--peer-cert", "/etc/n.pem",
             "--peer-key", "/etc/n.key"});
  ASSERT_TRUE(p.run) << p.message << " (a unix-socket daemon may replicate over TLS)";
  EXPECT_EQ(p.options.peer_ca, "/etc/ca.pem");
  EXPECT_EQ(p.options.peer_cert, "/etc/n.pem");
  EXPECT_EQ(p.options.peer_key, "/etc/n.key");
  TempFile config("peer-ca = \"/etc/ca2.pem\"\n");
  EXPECT_EQ(Parse({"--config", config.path()}).options.peer_ca, "/etc/ca2.pem");
  for (const char* local : {"[::1]:50053", "127.0.0.1:1", "localhost:50053", "unix:/x.sock"}) {
    EXPECT_TRUE(Parse({"--listen", local}).run) << local << " needs no TLS";
  }
}

TEST(DaemonOptions, ANetworkAddressNeedsTlsAndBadAccessFlagsFail) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const Case cases[] = {
      {{"--listen", "0.0.0.0:50053"}, "needs TLS"},
      {{"--listen", "[::]:50053"}, "needs TLS"},
      {{"--listen", "192.168.1.5:50053"}, "--insecure-listen"},
      {{"--listen", "node1.example:50053"}, "needs TLS"},
      {{"--tls-cert", "/c.pem", "--listen", "[::1]:1"}, "--tls-cert and --tls-key go together"},
      {{"--tls-cert", "c.pem", "--tls-key", "/k.pem"}, "must be an absolute path"},
      {{"--tls-client-ca", "/ca.pem"}, "--tls-client-ca needs --tls-cert"},
      {{"--listen", "unix:/s.sock", "--tls-cert", "/c", "--tls-key", "/k"}, "applies to TCP"},
      {{"--socket-mode", "4755"}, "an octal file mode"},
      {{"--socket-mode", "rw"}, "--socket-mode 'rw'"},
      {{"--import-allow-net", "10.0.0.0/33"}, "--import-allow-net"},
      {{"--max-watchers", "0"}, "--max-watchers"},
      {{"--log-endpoint", "https://[::1]:50052", "--log-cert", "/c.pem"},
       "--log-cert and --log-key go together"},
      {{"--log-ca-file", "/ca.pem"}, "--log-ca-file needs --log-endpoint"},
      {{"--log-endpoint", "https://[::1]:50052", "--log-ca-file", "ca.pem"},
       "must be an absolute path"},
      {{"--peer-ca", "/ca.pem", "--peer-cert", "/c.pem"}, "--peer-cert and --peer-key go together"},
      {{"--peer-cert", "/c.pem", "--peer-key", "/k.pem"}, "--peer-cert needs --peer-ca"},
      {{"--peer-ca", "ca.pem"}, "must be an absolute path"},
  };
  for (const Case& c : cases) {
    ParsedCommandLine p = Parse(c.args);
    EXPECT_FALSE(p.run) << c.args[0];
    EXPECT_NE(p.exit_code, 0);
    EXPECT_THAT(p.message, HasSubstr(c.message)) << p.message;
  }
}

TEST(DaemonOptions, ImportDestinationAllowances) {
  ParsedCommandLine p = Parse({"--import-allow-host", "mirror.lan", "--import-allow-net",
                               "10.1.0.0/16", "--import-allow-net", "fd00::/8"});
  ASSERT_TRUE(p.run) << p.message;
  EXPECT_EQ(p.options.import.allow_hosts, std::vector<std::string>{"mirror.lan"});
  ASSERT_EQ(p.options.import.allow_networks.size(), 2u);
  EXPECT_TRUE(p.options.import.allow_networks[0].Contains(*ParseIpAddress("10.1.2.3")));
  EXPECT_FALSE(p.options.import.allow_networks[0].Contains(*ParseIpAddress("10.2.0.1")));
}

TEST(DaemonOptions, MetricsAreOffUnlessAskedForAndAPortAloneMeansLoopback) {
  EXPECT_EQ(Parse({}).options.metrics_listen, "");
  EXPECT_EQ(Parse({"--metrics-listen", "9851"}).options.metrics_listen, "127.0.0.1:9851");
  EXPECT_EQ(Parse({"--metrics-listen", "0"}).options.metrics_listen, "127.0.0.1:0");
  EXPECT_EQ(Parse({"--metrics-listen", "10.1.2.3:9851"}).options.metrics_listen, "10.1.2.3:9851");
  EXPECT_EQ(Parse({"--metrics-listen", "[::1]:9851"}).options.metrics_listen, "[::1]:9851");
  TempFile config("metrics-listen = \"9852\"\n");
  EXPECT_EQ(Parse({"--config", config.path()}).options.metrics_listen, "127.0.0.1:9852");
  for (const char* bad : {"65536", "localhost:9851", "1.2.3.4", "1.2.3.4:0", ":9851", "x"}) {
    ParsedCommandLine p = Parse({"--metrics-listen", bad});
    EXPECT_FALSE(p.run) << bad;
    EXPECT_EQ(p.exit_code, 2) << bad;
    EXPECT_THAT(p.message, HasSubstr("--metrics-listen")) << bad;
  }
}

TEST(DaemonOptions, HelpAndVersionExitZero) {
  ParsedCommandLine help = Parse({"--help"});
  EXPECT_FALSE(help.run);
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.message, HasSubstr("--pool"));
  ParsedCommandLine version = Parse({"--version"});
  EXPECT_FALSE(version.run);
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_THAT(version.message, HasSubstr(MVIRT_ZFS_VERSION));
}

}  // namespace
}  // namespace mvirt::zfs
