#include "common/names.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace mvirt::zfs {
namespace {

using ::testing::HasSubstr;

TEST(ValidateName, AcceptsThePolicy) {
  for (const std::string& name :
       std::vector<std::string>{"a", "docker-01", "vm_1.disk:0", "A9", std::string(100, 'x')}) {
    EXPECT_TRUE(ValidateName("volume name", name).ok()) << name;
  }
}

TEST(ValidateName, RejectsWithInvalidArgumentAndExplains) {
  struct Case {
    std::string name;
    std::string says;
  };
  const Case cases[] = {
      {"", "volume name is empty"},
      {"a/b", "character '/'"},
      {"a@b", "character '@'"},
      {"a b", "character ' '"},
      {"a%b", "character '%'"},
      {".hidden", "must start with a letter or digit"},
      {"-rf", "must start with a letter or digit"},
      {"_x", "must start with a letter or digit"},
      {"a..b", "'..' is not allowed"},
      {std::string(101, 'x'), "too long (101 characters)"},
      {"tab\tname", "character '\\x09'"},
  };
  for (const Case& c : cases) {
    absl::Status s = ValidateName("volume name", c.name);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_NE(s.message().find(c.says), absl::string_view::npos) << s.message();
    EXPECT_NE(s.message().find("allowed:"), absl::string_view::npos) << s.message();
  }
}

TEST(ValidateId, AcceptsUuidsInEitherCase) {
  EXPECT_TRUE(ValidateId("123e4567-e89b-42d3-a456-426614174000").ok());
  EXPECT_TRUE(ValidateId("123E4567-E89B-42D3-A456-426614174000").ok());
}

TEST(ValidateId, RejectsMalformedIds) {
  for (const char* id :
       {"x", "123e4567e89b42d3a456426614174000", "123e4567-e89b-42d3-a456-42661417400g",
        "123e4567-e89b-42d3-a456-4266141740000", "123e4567_e89b-42d3-a456-426614174000"}) {
    absl::Status s = ValidateId(id);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << id;
    EXPECT_NE(s.message().find("must be a UUID"), absl::string_view::npos);
  }
}

TEST(NewUuid, IsAValidVersion4UuidAndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = NewUuid();
    ASSERT_TRUE(ValidateId(id).ok()) << id;
    EXPECT_EQ(id[14], '4');
    EXPECT_THAT(std::string("89ab"), HasSubstr(std::string(1, id[19]))) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

}  // namespace
}  // namespace mvirt::zfs
