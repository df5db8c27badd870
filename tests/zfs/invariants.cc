#include "invariants.h"

#include <algorithm>
#include <sstream>

namespace mvirt::zfs::testing {
namespace {

std::vector<std::vector<std::string>> Rows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> fields;
    std::istringstream cols(line);
    for (std::string f; std::getline(cols, f, '\t');) fields.push_back(f);
    if (fields.size() >= 4) rows.push_back(fields);
  }
  return rows;
}

}  // namespace

std::vector<std::string> PoolViolations(const std::string& pool, ZfsService::Stub& stub,
                                        const std::vector<std::string>& unmanaged) {
  std::vector<std::string> found;
  const std::string listing = MustRun(
      "zfs list -H -t all -o name,type,mvirt:id,mvirt:kind,receive_resume_token -r " + pool);
  for (const std::vector<std::string>& f : Rows(listing)) {
    const std::string& name = f[0];
    if (name.rfind(pool + "/", 0) != 0) continue;  // the pool's root
    for (const char* dir : {"/.mvirt/creating/", "/.mvirt/incoming/", "/.mvirt/imports/"}) {
      if (name.rfind(pool + dir, 0) == 0) found.push_back("half-made leftover: " + name);
    }
    const bool volume = f[1] == "volume";
    // A receive cut short waits there for its resume; a complete one must
    // have been renamed into place (or removed at start).
    if (volume && name.rfind(pool + "/.mvirt/receiving/", 0) == 0 &&
        (f.size() < 5 || f[4] == "-")) {
      found.push_back("complete receive never moved into place: " + name);
    }
    const bool top = name.find('/', pool.size() + 1) == std::string::npos;
    const bool theirs = std::find(unmanaged.begin(), unmanaged.end(),
                                  name.substr(pool.size() + 1)) != unmanaged.end();
    // Managed (mvirt:id) means complete (mvirt:kind=volume too); a zvol
    // without mvirt:id is not the daemon's (made by hand, or let go by
    // ReleaseVolume, which removes the id first).
    if (volume && top && !theirs && f[2] != "-" && f[3] != "volume") {
      found.push_back("managed zvol without mvirt:kind=volume: " + name);
    }
    if (volume && name.rfind(pool + "/.mvirt/templates/", 0) == 0 &&
        (f[2] == "-" || listing.find(name + "@template\t") == std::string::npos)) {
      found.push_back("template without its marks or snapshot: " + name);
    }
  }
  ListVolumesResponse listed;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  grpc::Status s = stub.ListVolumes(&ctx, ListVolumesRequest(), &listed);
  if (!s.ok()) found.push_back("ListVolumes: " + s.error_message());
  for (const Volume& v : listed.volumes()) {
    if (DeviceDatasetName(v.path()) != pool + "/" + v.name()) {
      found.push_back("listed volume without a working device: " + v.name());
    }
  }
  if (MustRun("ls -A " + StateDir(pool) + "/tmp") != "") found.push_back("temporary files left");
  return found;
}

}  // namespace mvirt::zfs::testing
