#include "pool/pool_standards.h"

#include "absl/strings/str_cat.h"

namespace mvirt::zfs {

const SeedPoolSettings& SeedSettings() {
  static const SeedPoolSettings* settings =
      new SeedPoolSettings{{{"ashift", "12"}, {"autotrim", "on"}},
                           {{"compression", "lz4"}, {"xattr", "sa"}, {"atime", "off"}}};
  return *settings;
}

std::vector<StandardsFinding> CheckPoolStandards(const PoolProps& pool) {
  std::vector<StandardsFinding> findings;
  const std::string ashift_fix = absl::StrCat(
      "ashift is fixed when a vdev is created: move the data to a pool made with "
      "`zpool create -o ashift=12` (or `mvirt-zfs pool init`)");
  const char* const ashift_reason = "4K sectors of SSD/NVMe, avoids write amplification";
  if (pool.top_level_vdevs.empty()) {
    findings.push_back({"ashift", "", pool.ashift == 0 ? "unknown" : std::to_string(pool.ashift),
                        "12", ashift_reason, ashift_fix});
  }
  for (const TopLevelVdev& vdev : pool.top_level_vdevs) {
    if (vdev.ashift == 12) continue;
    findings.push_back({"ashift", vdev.name,
                        vdev.ashift == 0 ? "unknown" : std::to_string(vdev.ashift), "12",
                        ashift_reason, ashift_fix});
  }
  if (!pool.autotrim) {
    findings.push_back({"autotrim", "", "off", "on", "returns freed blocks to the SSD",
                        absl::StrCat("zpool set autotrim=on ", pool.name)});
  }
  auto root = [&](const char* setting, const std::string& actual, const char* wanted,
                  const char* reason) {
    if (actual == wanted) return;
    findings.push_back({setting, "", actual.empty() ? "unknown" : actual, wanted, reason,
                        absl::StrCat("zfs set ", setting, "=", wanted, " ", pool.name)});
  };
  root("compression", pool.compression, "lz4", "saves I/O and space");
  root("xattr", pool.xattr, "sa", "faster Linux attributes");
  root("atime", pool.atime, "off", "fewer writes");
  return findings;
}

std::string DescribeFinding(const std::string& pool, const StandardsFinding& finding) {
  return absl::StrCat("pool '", pool, "': ", finding.setting,
                      finding.vdev.empty() ? "" : absl::StrCat(" of vdev ", finding.vdev), " is ",
                      finding.actual, ", recommended ", finding.wanted, " (", finding.reason, "); ",
                      finding.fix);
}

}  // namespace mvirt::zfs
