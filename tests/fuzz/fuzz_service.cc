// Fuzz target: the whole gRPC service (src/service/zfs_service.h), from the
// wire message to ZFS, in-process. ZfsServiceImpl runs over a VolumeManager
// on FakeZfs and FakeZvolDevices (automatic udev) and an ImportManager whose
// state and import directories are temporary; an Authorizer that allows
// every caller stands in for the access check. The sync handlers are called
// directly with a grpc::ServerContext made here. The watch streams are not
// fuzzed.
//
// Input: a sequence of calls, each [1 byte: RPC][2 bytes: length, little
// endian][that many bytes: the request, parsed with ParseFromArray]; a
// request that does not parse is skipped, as gRPC would refuse it. Selector
// 21 is not an RPC: it opens or closes the device of volume <payload> (what
// a running VM does), so that refusals of busy volumes are reached too.
// Selector 30 is not one either: the snapshot scheduler runs at a time the
// payload chooses (RunSnapshotPolicies).
//
// Every input starts from the same world: pool "fuzzpool" (not "vmpool": no
// real device path of this host can be meant) with volume "vm-1" (1 GiB,
// id 11111111-1111-4111-8111-111111111111), its snapshot "snap-1", template
// "tmpl-1" promoted from it, and volume "clone-1" cloned from the template.
//
// ImportTemplate: "$D" in the source becomes the import directory, which
// holds raw.img (a raw image), tiny.qcow2 (a valid qcow2 header) and
// bad.qcow2 (a broken one). URL sources are skipped (no network); a local
// import starts a job, which the fuzzer waits for. Such a job always fails
// (the zvol's device path does not exist on this host, and qemu-img is
// "/nonexistent"), and must then leave ZFS exactly as it was.
//
// Invariants, checked after every call (abort, so libFuzzer reports it):
//  - the status code is a canonical one other than UNKNOWN, INTERNAL and
//    DATA_LOSS, and a refusal has a message;
//  - a failed call (and every read-only call) left FakeZfs::Dump()
//    unchanged: all-or-nothing;
//  - ZFS holds only complete objects: every zvol under the pool carries
//    both mvirt:id and mvirt:kind (or neither: released), every template its @template snapshot and
//    properties, nothing is left under .mvirt/creating, incoming or imports;
//  - successful replies are consistent with the request (names, ids,
//    sizes rounded up to the volblocksize, a deleted volume is gone);
//  - no change goes unpublished: a watcher that took the state and applied
//    every volume and template event since sees what ListVolumes and
//    ListTemplates say (ids, names, sizes, snapshots, clone counts).
#include <google/protobuf/stubs/logging.h>
#include <grpc/grpc.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "access/authorizer.h"
#include "common/log.h"
#include "common/names.h"
#include "device/fake_zvol_devices.h"
#include "fuzz_util.h"
#include "import/import_manager.h"
#include "import/import_source.h"
#include "service/zfs_service.h"
#include "volume/volume_manager.h"
#include "zfs/fake_zfs.h"

namespace {

using namespace mvirt::zfs;
namespace fs = std::filesystem;

constexpr char kPool[] = "fuzzpool";
constexpr char kId1[] = "11111111-1111-4111-8111-111111111111";
constexpr int kMaxCalls = 48;

[[noreturn]] void Fail(const std::string& what) { fuzz::Fail("fuzz_service", what); }

class AllowAll final : public Authorizer {
 public:
  AllowAll()
      : Authorizer(AccessPolicy{}, nullptr, std::nullopt,
                   [](uid_t) { return std::vector<gid_t>{}; }) {}
  absl::StatusOr<std::string> Authorize(const grpc::ServerContextBase&) const override {
    return std::string("the fuzzer");
  }
};

// The temporary directories, made once per process.
struct Dirs {
  std::string root;
  std::string state;
  std::string images;
};

const Dirs& GetDirs() {
  static const Dirs* dirs = [] {
    const std::string root = fuzz::FreshDir("service");
    auto* d = new Dirs{root, root + "/state", root + "/images"};
    fs::create_directories(d->images);
    std::ofstream(d->images + "/raw.img") << std::string(8192, 'x');
    // A minimal valid qcow2 v3 header: 64 KiB clusters, 1 MiB virtual size,
    // L1 and refcount tables inside a (sparse) 256 KiB file.
    std::string q(104, '\0');
    auto put32 = [&](size_t at, uint32_t v) {
      for (int i = 0; i < 4; ++i) q[at + i] = static_cast<char>(v >> (24 - 8 * i));
    };
    auto put64 = [&](size_t at, uint64_t v) {
      put32(at, static_cast<uint32_t>(v >> 32));
      put32(at + 4, static_cast<uint32_t>(v));
    };
    q[0] = 'Q';
    q[1] = 'F';
    q[2] = 'I';
    q[3] = static_cast<char>(0xfb);
    put32(4, 3);         // version
    put32(20, 16);       // cluster_bits
    put64(24, 1 << 20);  // size
    put32(36, 1);        // l1_size
    put64(40, 3 << 16);  // l1_table_offset
    put64(48, 1 << 16);  // refcount_table_offset
    put32(56, 1);        // refcount_table_clusters
    put32(96, 4);        // refcount_order
    put32(100, 104);     // header_length
    q.resize(4 << 16, '\0');
    std::ofstream(d->images + "/tiny.qcow2", std::ios::binary) << q;
    std::ofstream(d->images + "/bad.qcow2", std::ios::binary) << q.substr(0, 100);
    return d;
  }();
  return *dirs;
}

struct World {
  World() {
    const Dirs& dirs = GetDirs();
    std::error_code ec;
    fs::remove_all(dirs.state, ec);
    fake.AddPool(kPool);
    VolumeManagerOptions vo;
    vo.pool = kPool;
    vo.device_timeout = absl::Milliseconds(50);
    volumes = std::make_unique<VolumeManager>(fake, devices, vo);
    volumes->CollectGarbage(/*at_startup=*/true);
    import_options.state_dir = dirs.state;
    import_options.import_dirs = {dirs.images};
    import_options.qemu_img = "/nonexistent/qemu-img";
    import_options.max_image_bytes = 64 * kGiB;
    import_options.max_concurrent = 2;
    imports = std::make_unique<ImportManager>(*volumes, import_options);
    if (absl::Status s = imports->Recover(); !s.ok()) Fail("Recover: " + s.ToString());
    replications =
        std::make_unique<ReplicationJobs>(*volumes, imports->template_events(), PeerOptions{});
    service = std::make_unique<ZfsServiceImpl>(*volumes, *imports, *replications, authorizer,
                                               ServiceOptions{});
    Populate();
    // A watcher, as WatchVolumes/WatchTemplates clients are: subscribed,
    // then the current state.
    volume_events = volumes->volume_events().Subscribe(1 << 20);
    template_events = imports->template_events().Subscribe(1 << 20);
    absl::StatusOr<std::vector<VolumeInfo>> vols = volumes->List();
    absl::StatusOr<std::vector<TemplateInfo>> templates = volumes->ListTemplates();
    if (!vols.ok() || !templates.ok()) Fail("listing the world failed");
    for (VolumeInfo& v : *vols) seen_volumes[v.id] = std::move(v);
    for (TemplateInfo& t : *templates) seen_templates[t.id] = std::move(t);
  }
  ~World() {
    service.reset();
    imports.reset();  // joins the job threads
    volumes->CloseEvents();
  }

  void Populate() {
    CreateVolumeParams v;
    v.name = "vm-1";
    v.size_bytes = kGiB;
    v.id = kId1;
    Must(volumes->Create(v).status(), "create vm-1");
    Must(volumes->CreateSnapshot("vm-1", "snap-1").status(), "snapshot vm-1@snap-1");
    Must(volumes->PromoteToTemplate("vm-1", "snap-1", "tmpl-1").status(), "promote tmpl-1");
    CloneVolumeParams c;
    c.name = "clone-1";
    Must(volumes->CloneFromTemplate("tmpl-1", c).status(), "clone clone-1");
  }
  static void Must(const absl::Status& s, absl::string_view what) {
    if (!s.ok()) Fail(absl::StrCat("setting up the world: ", what, ": ", s.ToString()));
  }

  FakeZfs fake;
  FakeZvolDevices devices;
  std::unique_ptr<VolumeManager> volumes;
  ImportOptions import_options;
  std::unique_ptr<ImportManager> imports;
  std::unique_ptr<ReplicationJobs> replications;
  AllowAll authorizer;
  std::unique_ptr<ZfsServiceImpl> service;
  std::set<std::string> open_devices;  // datasets whose device a "VM" holds open
  // What a watcher knows: the state at subscription with every event since
  // applied, by id.
  std::shared_ptr<Broadcaster<VolumeEventInfo>::Subscription> volume_events;
  std::shared_ptr<Broadcaster<TemplateEventInfo>::Subscription> template_events;
  std::map<std::string, VolumeInfo> seen_volumes;
  std::map<std::string, TemplateInfo> seen_templates;
};

std::string Dataset(const std::string& name) { return absl::StrCat(kPool, "/", name); }

// ZFS holds only complete objects (see the file comment).
void CheckZfs(World& w, absl::string_view after) {
  auto fail = [&](absl::string_view what) {
    Fail(absl::StrCat(what, " after ", after, "\n", w.fake.Dump()));
  };
  absl::StatusOr<std::vector<VolumeProps>> vols = w.fake.ListVolumes(kPool);
  if (!vols.ok()) fail("ListVolumes of the pool failed: " + vols.status().ToString());
  for (const VolumeProps& v : *vols) {
    // Managed (both marks), or let go by ReleaseVolume (neither).
    if (v.user_props.count(kIdProperty) != v.user_props.count(kKindProperty)) {
      fail("a volume with one of its two marks: " + v.name);
    }
  }
  absl::StatusOr<std::vector<VolumeProps>> templates =
      w.fake.ListVolumes(Dataset(".mvirt/templates"));
  if (templates.ok()) {
    for (const VolumeProps& t : *templates) {
      if (!w.fake.Exists(t.name + "@template")) fail("a template without @template: " + t.name);
      if (t.user_props.count(kIdProperty) == 0 || t.user_props.count(kKindProperty) == 0) {
        fail("a template without its properties: " + t.name);
      }
    }
  }
  for (const char* dir : {"creating", "incoming", "imports"}) {
    absl::StatusOr<std::vector<VolumeProps>> left =
        w.fake.ListVolumes(Dataset(absl::StrCat(".mvirt/", dir)));
    if (left.ok() && !left->empty())
      fail(absl::StrCat("left over under .mvirt/", dir, ": ", (*left)[0].name));
  }
}

// MVIRT_FUZZ_VERBOSE=1: print every call and its status (for reproducers).
bool Verbose() {
  static const bool verbose = std::getenv("MVIRT_FUZZ_VERBOSE") != nullptr;
  return verbose;
}

std::string Describe(const VolumeInfo& v) {
  std::string out =
      absl::StrCat(v.id, " ", v.name, " ", v.volsize_bytes, "/", v.volblocksize, " [");
  for (const SnapshotInfo& s : v.snapshots) absl::StrAppend(&out, s.name, " ");
  return out + "]";
}

std::string Describe(const TemplateInfo& t) {
  return absl::StrCat(t.id, " ", t.name, " ", t.size_bytes, " clones ", t.clone_count);
}

// A watcher that applied every event sees what List* says now: no change
// went unpublished.
void CheckEvents(World& w, absl::string_view after) {
  while (std::optional<VolumeEventInfo> e = w.volume_events->Next()) {
    if (e->volume.has_value()) {
      if (e->volume->id != e->volume_id)
        Fail(absl::StrCat("a volume event for ", e->volume_id, " carries ", e->volume->id));
      w.seen_volumes[e->volume_id] = *e->volume;
    } else {
      w.seen_volumes.erase(e->volume_id);
    }
  }
  while (std::optional<TemplateEventInfo> e = w.template_events->Next()) {
    if (e->template_info.has_value()) {
      w.seen_templates[e->template_id] = *e->template_info;
    } else if (!e->import_job.has_value()) {
      w.seen_templates.erase(e->template_id);
    }
  }
  if (w.volume_events->overflowed() || w.template_events->overflowed()) Fail("watcher overflowed");
  std::string seen, now;
  for (const auto& [id, v] : w.seen_volumes) absl::StrAppend(&seen, Describe(v), "\n");
  absl::StatusOr<std::vector<VolumeInfo>> volumes = w.volumes->List();
  if (!volumes.ok()) Fail(absl::StrCat("List after ", after, ": ", volumes.status().ToString()));
  std::map<std::string, std::string> by_id;
  for (const VolumeInfo& v : *volumes) by_id[v.id] = Describe(v);
  for (const auto& [id, text] : by_id) absl::StrAppend(&now, text, "\n");
  if (seen != now) {
    Fail(absl::StrCat("after ", after, " the volume events say\n", seen, "but List says\n", now));
  }
  seen.clear();
  now.clear();
  for (const auto& [id, t] : w.seen_templates) absl::StrAppend(&seen, Describe(t), "\n");
  absl::StatusOr<std::vector<TemplateInfo>> templates = w.volumes->ListTemplates();
  if (!templates.ok())
    Fail(absl::StrCat("ListTemplates after ", after, ": ", templates.status().ToString()));
  by_id.clear();
  for (const TemplateInfo& t : *templates) by_id[t.id] = Describe(t);
  for (const auto& [id, text] : by_id) absl::StrAppend(&now, text, "\n");
  if (seen != now) {
    Fail(absl::StrCat("after ", after, " the template events say\n", seen,
                      "but ListTemplates says\n", now));
  }
}

void CheckStatus(const grpc::Status& st, absl::string_view call) {
  if (Verbose()) {
    std::fprintf(stderr, "%s -> %d %s\n", std::string(call).c_str(), st.error_code(),
                 st.error_message().c_str());
  }
  const int code = st.error_code();
  if (code < 0 || code > 16 || code == grpc::StatusCode::UNKNOWN ||
      code == grpc::StatusCode::INTERNAL || code == grpc::StatusCode::DATA_LOSS) {
    Fail(absl::StrCat(call, " returned code ", code, ": ", st.error_message()));
  }
  if (!st.ok() && st.error_message().empty())
    Fail(absl::StrCat(call, " refused without a message"));
}

void CheckVolumeReply(const Volume& v, absl::string_view call) {
  if (!ValidateName("volume name", v.name()).ok() || !ValidateId(v.id()).ok() ||
      v.volblocksize() == 0 || v.volsize_bytes() == 0 ||
      v.volsize_bytes() % v.volblocksize() != 0 ||
      v.path() != absl::StrCat("/dev/zvol/", kPool, "/", v.name())) {
    Fail(absl::StrCat(call, " replied with an inconsistent volume: ", v.ShortDebugString()));
  }
}

// Waits until the import job `id` has finished.
void AwaitJob(World& w, const std::string& id) {
  const absl::Time deadline = absl::Now() + absl::Seconds(8);  // below -timeout=10
  while (true) {
    absl::StatusOr<ImportJobInfo> job = w.imports->Get(id);
    if (!job.ok()) Fail("the started import job is unknown: " + job.status().ToString());
    if (IsFinished(job->state)) {
      if (job->state == ImportState::kCompleted) Fail("an import job completed without a device");
      return;
    }
    if (absl::Now() > deadline) Fail("the import job did not finish in 8 s");
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

template <typename Req, typename Resp>
using Handler = grpc::Status (ZfsServiceImpl::*)(grpc::ServerContext*, const Req*, Resp*);

// Parses the request, calls the handler, checks the invariants;
// `check_ok` sees the request and reply of a successful call.
template <typename Req, typename Resp, typename CheckOk>
void Call(World& w, absl::string_view name, bool read_only, absl::string_view payload,
          Handler<Req, Resp> handler, CheckOk check_ok) {
  Req req;
  if (!req.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) return;
  const std::string call = absl::StrCat(name, "(", req.ShortDebugString(), ")");
  const std::string before = w.fake.Dump();
  Resp resp;
  grpc::Status st;
  {
    grpc::ServerContext ctx;
    st = (w.service.get()->*handler)(&ctx, &req, &resp);
  }
  CheckStatus(st, call);
  if (st.ok()) {
    (void)resp.SerializeAsString();  // what gRPC would send
    check_ok(req, resp);
  }
  if ((!st.ok() || read_only) && w.fake.Dump() != before) {
    Fail(absl::StrCat(call, (st.ok() ? " (read-only)" : " failed"), " with '", st.error_message(),
                      "' but changed ZFS:\n--- before\n", before, "--- after\n", w.fake.Dump()));
  }
  CheckZfs(w, call);
  CheckEvents(w, call);
}

template <typename Req, typename Resp>
void Call(World& w, absl::string_view name, bool read_only, absl::string_view payload,
          Handler<Req, Resp> handler) {
  Call(w, name, read_only, payload, handler, [](const Req&, const Resp&) {});
}

void Import(World& w, absl::string_view payload) {
  ImportTemplateRequest req;
  if (!req.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) return;
  req.set_source(absl::StrReplaceAll(req.source(), {{"$D", GetDirs().images}}));
  {
    // No network: what would resolve to a URL is not sent.
    absl::StatusOr<ImportSource> source = ResolveImportSource(req.source(), w.import_options);
    if (source.ok() && source->kind == ImportSource::Kind::kUrl) return;
  }
  const std::string call = absl::StrCat("ImportTemplate(", req.ShortDebugString(), ")");
  const std::string before = w.fake.Dump();
  ImportJob job;
  grpc::Status st;
  {
    grpc::ServerContext ctx;
    st = w.service->ImportTemplate(&ctx, &req, &job);
  }
  CheckStatus(st, call);
  if (st.ok()) {
    if (!ValidateId(job.id()).ok() || job.template_name() != req.name()) {
      Fail(absl::StrCat(call, " replied ", job.ShortDebugString()));
    }
    AwaitJob(w, job.id());
  }
  // Either refused, or a job that failed: nothing changed either way.
  if (w.fake.Dump() != before) {
    Fail(absl::StrCat(call, " (", st.error_message(), ") changed ZFS:\n--- before\n", before,
                      "--- after\n", w.fake.Dump()));
  }
  CheckZfs(w, call);
  CheckEvents(w, call);
}

void Run(World& w, uint8_t selector, absl::string_view p) {
  switch (selector % 31) {
    case 0:
      return Call<GetVersionRequest, VersionInfo>(w, "GetVersion", true, p,
                                                  &ZfsServiceImpl::GetVersion);
    case 1:
      return Call<GetPoolStatsRequest, PoolStats>(w, "GetPoolStats", true, p,
                                                  &ZfsServiceImpl::GetPoolStats);
    case 2:
      return Call<CreateVolumeRequest, Volume>(
          w, "CreateVolume", false, p, &ZfsServiceImpl::CreateVolume,
          [&](const CreateVolumeRequest& req, const Volume& v) {
            CheckVolumeReply(v, "CreateVolume");
            if (v.name() != req.name() || v.volsize_bytes() < req.size_bytes() ||
                v.volsize_bytes() - req.size_bytes() >= v.volblocksize() ||
                (req.has_volblocksize() && v.volblocksize() != req.volblocksize()) ||
                (!req.id().empty() && !absl::EqualsIgnoreCase(v.id(), req.id()))) {
              Fail(absl::StrCat("CreateVolume(", req.ShortDebugString(),
                                ") = ", v.ShortDebugString()));
            }
          });
    case 3:
      return Call<ListVolumesRequest, ListVolumesResponse>(
          w, "ListVolumes", true, p, &ZfsServiceImpl::ListVolumes,
          [](const ListVolumesRequest&, const ListVolumesResponse& r) {
            for (const Volume& v : r.volumes()) CheckVolumeReply(v, "ListVolumes");
          });
    case 4:
      return Call<GetVolumeRequest, Volume>(w, "GetVolume", true, p, &ZfsServiceImpl::GetVolume,
                                            [](const GetVolumeRequest& req, const Volume& v) {
                                              CheckVolumeReply(v, "GetVolume");
                                              if (v.name() != req.name())
                                                Fail("GetVolume: another volume");
                                            });
    case 5:
      return Call<DeleteVolumeRequest, DeleteVolumeResponse>(
          w, "DeleteVolume", false, p, &ZfsServiceImpl::DeleteVolume,
          [&](const DeleteVolumeRequest& req, const DeleteVolumeResponse& r) {
            if (!r.deleted() ||
                w.volumes->Get(req.name()).status().code() != absl::StatusCode::kNotFound) {
              Fail(
                  absl::StrCat("DeleteVolume(", req.name(), ") succeeded but the volume is there"));
            }
          });
    case 6:
      return Call<ResizeVolumeRequest, Volume>(
          w, "ResizeVolume", false, p, &ZfsServiceImpl::ResizeVolume,
          [](const ResizeVolumeRequest& req, const Volume& v) {
            CheckVolumeReply(v, "ResizeVolume");
            if (v.name() != req.name() || v.volsize_bytes() < req.new_size_bytes()) {
              Fail(absl::StrCat("ResizeVolume(", req.ShortDebugString(),
                                ") = ", v.ShortDebugString()));
            }
          });
    case 7:
      return Call<CreateSnapshotRequest, Snapshot>(
          w, "CreateSnapshot", false, p, &ZfsServiceImpl::CreateSnapshot,
          [](const CreateSnapshotRequest& req, const Snapshot& snap) {
            if (snap.name() != req.snapshot_name() ||
                snap.full_name() !=
                    absl::StrCat(kPool, "/", req.volume_name(), "@", req.snapshot_name())) {
              Fail(absl::StrCat("CreateSnapshot(", req.ShortDebugString(),
                                ") = ", snap.ShortDebugString()));
            }
          });
    case 8:
      return Call<CreateSnapshotsRequest, CreateSnapshotsResponse>(
          w, "CreateSnapshots", false, p, &ZfsServiceImpl::CreateSnapshots,
          [](const CreateSnapshotsRequest& req, const CreateSnapshotsResponse& r) {
            for (const Snapshot& snap : r.snapshots()) {
              if (snap.name() != req.snapshot_name())
                Fail("CreateSnapshots: another snapshot name");
            }
          });
    case 9:
      return Call<ListSnapshotsRequest, ListSnapshotsResponse>(w, "ListSnapshots", true, p,
                                                               &ZfsServiceImpl::ListSnapshots);
    case 10:
      return Call<DeleteSnapshotRequest, DeleteSnapshotResponse>(w, "DeleteSnapshot", false, p,
                                                                 &ZfsServiceImpl::DeleteSnapshot);
    case 11:
      return Call<RollbackSnapshotRequest, Volume>(
          w, "RollbackSnapshot", false, p, &ZfsServiceImpl::RollbackSnapshot,
          [](const RollbackSnapshotRequest&, const Volume& v) {
            CheckVolumeReply(v, "RollbackSnapshot");
          });
    case 12:
      return Call<CloneVolumeRequest, Volume>(w, "CloneVolume", false, p,
                                              &ZfsServiceImpl::CloneVolume,
                                              [](const CloneVolumeRequest& req, const Volume& v) {
                                                CheckVolumeReply(v, "CloneVolume");
                                                if (v.name() != req.new_volume_name())
                                                  Fail("CloneVolume: another name");
                                              });
    case 13:
      return Call<ListTemplatesRequest, ListTemplatesResponse>(w, "ListTemplates", true, p,
                                                               &ZfsServiceImpl::ListTemplates);
    case 14:
      return Call<DeleteTemplateRequest, DeleteTemplateResponse>(w, "DeleteTemplate", false, p,
                                                                 &ZfsServiceImpl::DeleteTemplate);
    case 15:
      return Call<CloneFromTemplateRequest, Volume>(
          w, "CloneFromTemplate", false, p, &ZfsServiceImpl::CloneFromTemplate,
          [](const CloneFromTemplateRequest& req, const Volume& v) {
            CheckVolumeReply(v, "CloneFromTemplate");
            if (v.name() != req.new_volume_name()) Fail("CloneFromTemplate: another name");
          });
    case 16:
      return Call<PromoteSnapshotRequest, Template>(w, "PromoteSnapshotToTemplate", false, p,
                                                    &ZfsServiceImpl::PromoteSnapshotToTemplate);
    case 17:
      return Import(w, p);
    case 18:
      return Call<GetImportJobRequest, ImportJob>(w, "GetImportJob", true, p,
                                                  &ZfsServiceImpl::GetImportJob);
    case 19:
      return Call<ListImportJobsRequest, ListImportJobsResponse>(w, "ListImportJobs", true, p,
                                                                 &ZfsServiceImpl::ListImportJobs);
    case 20:
      return Call<CancelImportJobRequest, CancelImportJobResponse>(
          w, "CancelImportJob", false, p, &ZfsServiceImpl::CancelImportJob);
    case 22:
      return Call<RenameVolumeRequest, Volume>(w, "RenameVolume", false, p,
                                               &ZfsServiceImpl::RenameVolume,
                                               [](const RenameVolumeRequest& req, const Volume& v) {
                                                 CheckVolumeReply(v, "RenameVolume");
                                                 if (v.name() != req.new_name())
                                                   Fail("RenameVolume: another name");
                                               });
    case 23:
      return Call<RenameSnapshotRequest, Snapshot>(
          w, "RenameSnapshot", false, p, &ZfsServiceImpl::RenameSnapshot,
          [](const RenameSnapshotRequest& req, const Snapshot& snap) {
            if (snap.name() != req.new_name()) Fail("RenameSnapshot: another name");
          });
    case 24:
      return Call<GetReceiveStateRequest, ReceiveState>(w, "GetReceiveState", true, p,
                                                        &ZfsServiceImpl::GetReceiveState);
    case 25:
      return Call<AbortReceiveRequest, AbortReceiveResponse>(w, "AbortReceive", false, p,
                                                             &ZfsServiceImpl::AbortReceive);
    case 26:
      return Call<AdoptVolumeRequest, Volume>(
          w, "AdoptVolume", false, p, &ZfsServiceImpl::AdoptVolume,
          [](const AdoptVolumeRequest&, const Volume& v) { CheckVolumeReply(v, "AdoptVolume"); });
    case 27:
      return Call<ReleaseVolumeRequest, ReleaseVolumeResponse>(w, "ReleaseVolume", false, p,
                                                               &ZfsServiceImpl::ReleaseVolume);
    case 28:
      return Call<SetSnapshotPolicyRequest, SnapshotPolicy>(w, "SetSnapshotPolicy", false, p,
                                                            &ZfsServiceImpl::SetSnapshotPolicy);
    case 29:
      return Call<GetSnapshotPolicyRequest, SnapshotPolicy>(w, "GetSnapshotPolicy", true, p,
                                                            &ZfsServiceImpl::GetSnapshotPolicy);
    case 30: {
      // The snapshot scheduler looks, at a time the input chooses (the
      // first 4 bytes: seconds since 2026-01-01, about 136 years on).
      uint32_t offset = 0;
      std::memcpy(&offset, p.data(), std::min(p.size(), sizeof(offset)));
      const absl::Time now = absl::FromUnixSeconds(1767225600 + int64_t{offset});
      const SnapshotPolicyRun run = w.volumes->RunSnapshotPolicies(now);
      const std::string call = absl::StrCat("RunSnapshotPolicies(", absl::FormatTime(now), ")");
      if (Verbose()) {
        std::fprintf(stderr, "%s: %llu taken, %llu pruned\n", call.c_str(),
                     static_cast<unsigned long long>(run.taken),
                     static_cast<unsigned long long>(run.pruned));
      }
      CheckZfs(w, call);
      CheckEvents(w, call);
      return;
    }
    case 21: {
      // The VM holding the volume's device opens or closes it.
      const std::string dataset = Dataset(std::string(p));
      if (!w.fake.Exists(dataset)) return;
      const bool open = w.open_devices.insert(dataset).second;
      if (!open) w.open_devices.erase(dataset);
      w.fake.SetOpen(dataset, open);
      CheckEvents(w, absl::StrCat(open ? "opening " : "closing ", dataset));
      return;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  grpc_init();
  google::protobuf::SetLogHandler(nullptr);  // unparsable requests are expected
  SetLogLevel(LogLevel::kError);
  (void)GetDirs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16384) return -1;
  World world;
  size_t at = 0;
  for (int calls = 0; calls < kMaxCalls && at + 3 <= size; ++calls) {
    const uint8_t selector = data[at];
    const size_t length =
        std::min<size_t>(data[at + 1] | (size_t{data[at + 2]} << 8), size - at - 3);
    Run(world, selector, absl::string_view(reinterpret_cast<const char*>(data + at + 3), length));
    at += 3 + length;
  }
  return 0;
}
