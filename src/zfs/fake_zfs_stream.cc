// FakeZfs: send streams. A stream is a real BEGIN record (send_stream.h)
// followed by a body of the fake's own: "<volsize> <volblocksize>
// <length>\n", the zvol's data at the snapshot, and "END". A receive that
// finds the body cut short keeps what arrived and a token naming the send
// ("1-fake-<toguid>-<fromguid>-<bytes>-<toname>"), as a resumable receive
// in ZFS does; ResumeSend sends a resuming BEGIN record and the rest of the
// body. The checks and their order are those of the kernel's receive
// (dmu_recv.c: recv_begin_check*).
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "zfs/error_mapping.h"
#include "zfs/fake_zfs.h"
#include "zfs/fake_zfs_internal.h"

namespace mvirt::zfs {

using fake_internal::HeadOf;
using fake_internal::TailOf;

namespace {

constexpr char kEnd[] = "END";

// Writes all of `data` into `fd`: 0, or the errno (EPIPE if the reader
// closed its end). SIGPIPE stays blocked in this thread meanwhile and a
// pending one is taken, so that the process is not killed by it.
int WriteAll(int fd, const std::string& data) {
  sigset_t pipe_signal, old;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, &old);
  int err = 0;
  for (size_t done = 0; done < data.size() && err == 0;) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n >= 0) {
      done += static_cast<size_t>(n);
    } else if (errno != EINTR) {
      err = errno;
    }
  }
  if (err == EPIPE) {
    const timespec now{};
    sigtimedwait(&pipe_signal, nullptr, &now);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return err;
}

// Everything `fd` gives until end of file: 0, or the errno.
int ReadAll(int fd, std::string* out) {
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n == 0) return 0;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    out->append(buf, static_cast<size_t>(n));
  }
}

// A parsed body; `complete` is false if it was cut short.
struct Body {
  uint64_t volsize = 0;
  uint64_t volblocksize = 0;
  std::string data;
  bool complete = false;
};

Body ParseBody(const std::string& body) {
  Body out;
  unsigned long long volsize = 0, volblocksize = 0, length = 0;
  int header_end = 0;
  if (std::sscanf(body.c_str(), "%llu %llu %llu\n%n", &volsize, &volblocksize, &length,
                  &header_end) != 3 ||
      header_end == 0) {
    return out;
  }
  out.volsize = volsize;
  out.volblocksize = volblocksize;
  const std::string rest = body.substr(static_cast<size_t>(header_end));
  out.data = rest.substr(0, length);
  out.complete = rest.size() == length + sizeof(kEnd) - 1 && rest.substr(length) == kEnd;
  return out;
}

}  // namespace

std::string FakeZfs::StreamBody(const Snap& snap, const Dataset& of) {
  return absl::StrCat(snap.volsize, " ", of.volblocksize, " ", snap.data.size(), "\n", snap.data,
                      kEnd);
}

absl::StatusOr<std::string> FakeZfs::StreamOf(const std::string& snapshot,
                                              const std::string& from) {
  if (absl::Status s = CheckSendBase(snapshot, from); !s.ok()) return s;
  const Snap* s = FindSnap(snapshot);
  const Snap* base = from.empty() ? nullptr : FindSnap(from);
  if (s == nullptr || (!from.empty() && base == nullptr)) {
    return SendFailure(ENOENT, snapshot, from, base != nullptr);
  }
  if (base != nullptr && base->createtxg >= s->createtxg) {
    return SendFailure(EXDEV, snapshot, from, true);
  }
  return MakeSendStreamBegin(s->guid, base == nullptr ? 0 : base->guid, snapshot, 0) +
         StreamBody(*s, *FindDataset(HeadOf(snapshot)));
}

absl::Status FakeZfs::SendSnapshot(int fd, const std::string& snapshot, const std::string& from,
                                   bool /*raw: the fake has no encryption*/) {
  absl::StatusOr<std::string> stream;
  {
    absl::MutexLock lock(&mu_);
    stream = StreamOf(snapshot, from);
  }
  if (!stream.ok()) return stream.status();
  if (int err = WriteAll(fd, *stream); err != 0) {
    return ZfsErrnoStatus(ZfsOp::kSend, err, "send snapshot", snapshot);
  }
  return absl::OkStatus();
}

namespace {

// The fields of a fake resume token.
struct FakeToken {
  uint64_t toguid = 0;
  uint64_t fromguid = 0;
  uint64_t bytes = 0;
  std::string toname;
};

absl::StatusOr<FakeToken> ParseFakeToken(const std::string& dataset, const std::string& token) {
  unsigned long long toguid = 0, fromguid = 0, bytes = 0;
  int name_at = 0;
  if (std::sscanf(token.c_str(), "1-fake-%llu-%llu-%llu-%n", &toguid, &fromguid, &bytes,
                  &name_at) != 3 ||
      name_at == 0) {
    return ResumeRefusal(dataset, "not a resume token (invalid resume token)");
  }
  return FakeToken{toguid, fromguid, bytes, token.substr(static_cast<size_t>(name_at))};
}

}  // namespace

absl::StatusOr<ResumePoint> FakeZfs::ResumePointOf(const std::string& dataset, uint64_t toguid,
                                                   uint64_t fromguid, const std::string& toname) {
  const Dataset* d = FindDataset(dataset);
  if (d == nullptr) {
    return fake_internal::LibzfsError(absl::StatusCode::kNotFound, "list snapshots of", dataset,
                                      fake_internal::kNoDataset);
  }
  std::vector<std::pair<std::string, uint64_t>> guids;
  for (const std::string& name : SnapsByTxg(*d, dataset)) {
    guids.emplace_back(name, FindSnap(name)->guid);
  }
  absl::StatusOr<std::string> from = ResumeBase(dataset, guids, toname, toguid, fromguid);
  if (!from.ok()) return from.status();
  return ResumePoint{toname, *from};
}

absl::StatusOr<ResumePoint> FakeZfs::DescribeResumeToken(const std::string& dataset,
                                                         const std::string& token) {
  absl::StatusOr<FakeToken> parsed = ParseFakeToken(dataset, token);
  if (!parsed.ok()) return parsed.status();
  absl::MutexLock lock(&mu_);
  return ResumePointOf(dataset, parsed->toguid, parsed->fromguid, parsed->toname);
}

absl::StatusOr<uint64_t> FakeZfs::SendSize(const std::string& snapshot, const std::string& from,
                                           bool /*raw*/) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<std::string> stream = StreamOf(snapshot, from);
  if (!stream.ok()) return stream.status();
  return stream->size();
}

absl::Status FakeZfs::ResumeSend(int fd, const std::string& dataset, const std::string& token) {
  absl::StatusOr<FakeToken> parsed = ParseFakeToken(dataset, token);
  if (!parsed.ok()) return parsed.status();
  std::string stream;
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<ResumePoint> point =
        ResumePointOf(dataset, parsed->toguid, parsed->fromguid, parsed->toname);
    if (!point.ok()) return point.status();
    const std::string body = StreamBody(*FindSnap(parsed->toname), *FindDataset(dataset));
    stream = MakeSendStreamBegin(parsed->toguid, parsed->fromguid, parsed->toname,
                                 kSendFeatureResuming) +
             body.substr(std::min<size_t>(parsed->bytes, body.size()));
  }
  if (int err = WriteAll(fd, stream); err != 0) {
    return ZfsErrnoStatus(ZfsOp::kSend, err, "send snapshot", parsed->toname);
  }
  return absl::OkStatus();
}

absl::Status FakeZfs::ReceiveSnapshot(int fd, const SendStreamBegin& begin,
                                      const std::string& target, const UserProps& local_props) {
  if (absl::Status s = CheckReceiveTarget(begin, target, local_props); !s.ok()) return s;
  const std::string head = HeadOf(target);
  auto fail = [&](int err) { return ReceiveFailure(err, begin, target, false); };
  // The kernel checks the target before it reads the body.
  {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = CheckReceive(begin, target); !s.ok()) return s;
  }
  std::string body;
  if (int err = ReadAll(fd, &body); err != 0) return fail(err);
  absl::MutexLock lock(&mu_);
  if (absl::Status s = CheckReceive(begin, target); !s.ok()) return s;  // changed meanwhile
  Dataset* d = FindDataset(head);
  if (d == nullptr) {  // a full stream: a new zvol, its properties set first
    Dataset fresh = NewDataset(/*is_volume=*/true);
    fresh.user_props = local_props;
    fresh.natives["volmode"] = "dev";
    fresh.partial = true;
    d = &(datasets_[head] = std::move(fresh));
  }
  if (begin.resuming) body = d->received + body;
  Body parsed = ParseBody(body);
  if (!parsed.complete) {
    d->received = body;
    if (begin.incremental()) d->receive_base = SnapWithGuid(*d, begin.fromguid);
    d->receive_token = absl::StrCat("1-fake-", begin.toguid, "-", begin.fromguid, "-", body.size(),
                                    "-", begin.toname);
    return fail(kZfsErrStreamTruncated);
  }
  d->partial = false;
  d->receive_token.clear();
  d->received.clear();
  d->receive_base.clear();
  d->volsize = parsed.volsize;
  if (d->volblocksize == 0) d->volblocksize = parsed.volblocksize;
  d->data = parsed.data;
  ++txg_;
  Snap snap = NewSnap(*d);
  snap.guid = begin.toguid;
  d->snaps[TailOf(target)] = std::move(snap);
  return absl::OkStatus();
}

absl::Status FakeZfs::CheckReceive(const SendStreamBegin& begin, const std::string& target) const {
  const std::string head = HeadOf(target);
  auto fail = [&](int err) { return ReceiveFailure(err, begin, target, false); };
  const Dataset* d = FindDataset(head);
  if (begin.resuming) {  // the partial state it continues, of the same send
    if (d == nullptr) return fail(ENOENT);
    const std::string same_send = absl::StrCat("1-fake-", begin.toguid, "-");
    return d->receive_token.rfind(same_send, 0) == 0 ? absl::OkStatus() : fail(EINVAL);
  }
  if (d == nullptr) {
    if (begin.incremental()) return fail(ENOENT);  // no origin given
    const int err = CheckNewDataset(head);
    return err == 0 ? absl::OkStatus() : fail(err);
  }
  if (!d->receive_token.empty()) return fail(EBUSY);
  if (d->snaps.count(TailOf(target)) != 0) return fail(EEXIST);
  if (!begin.incremental()) return fail(EEXIST);  // a full stream needs force
  const std::string base = SnapWithGuid(*d, begin.fromguid);
  if (base.empty()) return fail(ENODEV);
  const Snap& snap = d->snaps.at(base);
  if (d->data != snap.data || d->volsize != snap.volsize) return fail(ETXTBSY);
  return absl::OkStatus();
}

std::string FakeZfs::SnapWithGuid(const Dataset& d, uint64_t guid) {
  for (const auto& [name, snap] : d.snaps) {
    if (snap.guid == guid) return name;
  }
  return "";
}

absl::StatusOr<std::string> FakeZfs::ReceiveResumeToken(const std::string& name) {
  absl::MutexLock lock(&mu_);
  const Dataset* d = FindDataset(name);
  if (d == nullptr) {
    return fake_internal::LibzfsError(absl::StatusCode::kNotFound, "read the resume token of", name,
                                      fake_internal::kNoDataset);
  }
  return d->receive_token;
}

absl::Status FakeZfs::AbortReceive(const std::string& name) {
  absl::MutexLock lock(&mu_);
  Dataset* d = FindDataset(name);
  if (d == nullptr) {
    return fake_internal::LibzfsError(absl::StatusCode::kNotFound, "read the resume token of", name,
                                      fake_internal::kNoDataset);
  }
  if (d->receive_token.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("abort the receive into '", name, "': it holds no interrupted receive"));
  }
  if (d->partial) {
    datasets_.erase(name);
  } else {
    d->receive_token.clear();
    d->received.clear();
    d->receive_base.clear();
  }
  return absl::OkStatus();
}

}  // namespace mvirt::zfs
