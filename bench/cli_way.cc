#include "cli_way.h"

#include "absl/strings/str_join.h"
#include "common/subprocess.h"
#include "zfs_floor.h"

namespace mvirt::bench {

std::string RunTool(const std::vector<std::string>& argv) {
  zfs::SubprocessOptions options;
  options.argv = argv;
  auto process = zfs::Subprocess::Start(options);
  if (!process.ok()) Die(absl::StrJoin(argv, " ") + ": " + std::string(process.status().message()));
  std::string out;
  zfs::SubprocessResult result =
      (*process)->Wait([&out](absl::string_view piece) { out.append(piece.data(), piece.size()); });
  if (!result.ok()) Die(absl::StrJoin(argv, " ") + ": " + result.Describe());
  return out;
}

}  // namespace mvirt::bench
