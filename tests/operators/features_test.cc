// Hashed sparse feature vectors: the documented index formula, crosses as
// products over every pair, log buckets, audit names that match the entries,
// indices within 2^bits, and as few collisions as chance allows.
#include "operators/features.h"

#include <xxhash.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace eddy {
namespace {

uint32_t Expected(absl::string_view ns, absl::string_view name, absl::string_view value, int bits) {
  const uint64_t seed =
      XXH3_64bits_withSeed(name.data(), name.size(), XXH3_64bits(ns.data(), ns.size()));
  return static_cast<uint32_t>(XXH3_64bits_withSeed(value.data(), value.size(), seed)) &
         ((1u << bits) - 1);
}

TEST(FeaturesTest, IndicesFollowTheDocumentedHashAndAuditNamesMatch) {
  FeatureSpace space(18);
  const int genre = space.AddField("user", "listens_1h.genre");
  const int ctr = space.AddField("ad", "ctr_24h");
  const int category = space.AddField("ad", "category");
  space.AddCross("user", "ad");
  FeatureBuilder b(&space, /*audit=*/true);
  b.Clear();
  b.Add(genre, "jazz", 3);
  b.Add(genre, "rock", 1);
  b.AddNumeric(ctr, 0.25);
  b.Add(category, "concerts");
  const SparseVector& v = b.Finish();
  // 4 plain entries, then 2 x 2 crosses.
  ASSERT_EQ(v.size(), 8u);
  EXPECT_EQ(v.index[0], Expected("user", "listens_1h.genre", "jazz", 18));
  EXPECT_EQ(v.value[0], 3);
  EXPECT_EQ(v.index[3], Expected("ad", "category", "concerts", 18));
  const std::vector<FeatureAudit>& audit = b.audit();
  ASSERT_EQ(audit.size(), v.size());
  std::vector<std::string> names;
  for (size_t i = 0; i < audit.size(); ++i) {
    names.push_back(absl::StrCat(audit[i].name, ":", audit[i].value));
    EXPECT_EQ(audit[i].index, v.index[i]);
    EXPECT_EQ(audit[i].value, v.value[i]);
  }
  EXPECT_EQ(names, (std::vector<std::string>{
                       "user.listens_1h.genre=jazz:3", "user.listens_1h.genre=rock:1",
                       "ad.ctr_24h:0.25", "ad.category=concerts:1",
                       "user.listens_1h.genre=jazz^ad.ctr_24h:0.75",
                       "user.listens_1h.genre=jazz^ad.category=concerts:3",
                       "user.listens_1h.genre=rock^ad.ctr_24h:0.25",
                       "user.listens_1h.genre=rock^ad.category=concerts:1"}));
  // A cross's index depends on both sides, and on their order.
  EXPECT_NE(v.index[4], v.index[5]);
  // The same features give the same vector in another builder; Clear starts over.
  FeatureBuilder again(&space);
  again.Clear();
  again.Add(genre, "jazz", 3);
  again.Add(genre, "rock", 1);
  again.AddNumeric(ctr, 0.25);
  again.Add(category, "concerts");
  EXPECT_EQ(again.Finish().index, v.index);
  again.Clear();
  EXPECT_EQ(again.Finish().size(), 0u);
}

// Ignore leaves a field, or every field of a namespace, out of the vector,
// its crosses and the audit, as Vowpal Wabbit's --ignore; other fields keep
// their indices. An unknown name is an error.
TEST(FeaturesTest, IgnoredFieldsAndNamespacesAreLeftOut) {
  const auto build = [](FeatureSpace& space) {
    const int genre = space.AddField("user", "genre");
    const int id = space.AddField("user", "id");
    const int category = space.AddField("ad", "category");
    space.AddCross("user", "ad");
    return std::vector<int>{genre, id, category};
  };
  const auto names = [](const FeatureSpace& space, const std::vector<int>& f) {
    FeatureBuilder b(&space, /*audit=*/true);
    b.Clear();
    b.Add(f[0], "jazz");
    b.Add(f[1], "u1");
    b.AddNumeric(f[1], 2);
    b.Add(f[2], "concerts");
    const SparseVector& v = b.Finish();
    std::vector<std::string> out;
    for (size_t i = 0; i < v.size(); ++i) out.push_back(absl::StrCat(b.audit()[i].name, "@", v.index[i]));
    return out;
  };
  FeatureSpace all(18), no_id(18), no_user(18);
  const std::vector<int> f = build(all);
  build(no_id);
  build(no_user);
  ASSERT_TRUE(no_id.Ignore("user.id").ok());
  ASSERT_TRUE(no_user.Ignore("user").ok());
  const std::vector<std::string> with = names(all, f);
  ASSERT_EQ(with.size(), 7u);  // 4 plain, 3 crosses
  EXPECT_EQ(names(no_id, f), (std::vector<std::string>{with[0], with[3], with[4]}));
  EXPECT_EQ(names(no_user, f), (std::vector<std::string>{with[3]}));
  EXPECT_FALSE(all.Ignore("user.genr").ok());
  EXPECT_FALSE(all.Ignore("use").ok());
  EXPECT_FALSE(all.Ignore("genre").ok());
}

TEST(FeaturesTest, LogBucketsAndNonFiniteValues) {
  FeatureSpace space(20);
  const int f = space.AddField("user", "listens_24h");
  FeatureBuilder b(&space, true);
  std::vector<std::string> got;
  for (double x : {0.0, 1.0, 2.0, 3.0, 7.0, 1e6, -1.0}) {
    b.Clear();
    b.AddLogBucket(f, x);
    b.Finish();
    got.push_back(b.audit().at(0).name);
  }
  EXPECT_EQ(got, (std::vector<std::string>{"user.listens_24h=b0", "user.listens_24h=b1",
                                           "user.listens_24h=b1", "user.listens_24h=b2",
                                           "user.listens_24h=b3", "user.listens_24h=b19",
                                           "user.listens_24h=neg"}));
  b.Clear();
  b.AddNumeric(f, std::nan(""));
  b.AddNumeric(f, INFINITY);
  b.AddLogBucket(f, std::nan(""));
  EXPECT_EQ(b.Finish().size(), 0u);
}

// The bucket is floor(log2(1 + x)) exactly, also where 1 + x rounds up to a
// power of two, for subnormals, the largest double and infinity; checked
// against an exact integer computation for whole numbers up to 2^62.
TEST(FeaturesTest, LogBucketIsExactFloorLog2OfOnePlusX) {
  FeatureSpace space(20);
  const int f = space.AddField("n", "x");
  FeatureBuilder b(&space, true);
  auto bucket = [&](double x) {
    b.Clear();
    b.AddLogBucket(f, x);
    b.Finish();
    return b.audit().at(0).name.substr(4);
  };
  EXPECT_EQ(bucket(1 - std::ldexp(1.0, -53)), "b0");
  EXPECT_EQ(bucket(std::ldexp(1.0, 54) - 2), "b53");
  EXPECT_EQ(bucket(std::ldexp(1.0, 54)), "b54");
  EXPECT_EQ(bucket(5e-324), "b0");
  EXPECT_EQ(bucket(1.7976931348623157e308), "b1023");
  EXPECT_EQ(bucket(INFINITY), "b1024");
  std::mt19937_64 rng(5);
  for (int i = 0; i < 20000; ++i) {
    const uint64_t v = rng() >> (2 + rng() % 62);  // whole numbers of every size
    const double x = static_cast<double>(v);
    // floor(log2(1 + x)) for the double's exact integer value.
    const unsigned __int128 one_plus = static_cast<unsigned __int128>(static_cast<uint64_t>(x)) + 1;
    int want = 0;
    while ((one_plus >> (want + 1)) != 0) ++want;
    ASSERT_EQ(bucket(x), absl::StrCat("b", want)) << "x = " << v;
  }
}

TEST(FeaturesTest, IndicesStayInTheSpaceAndCollideOnlyByChance) {
  for (int bits : {1, 5, 18, 31}) {
    FeatureSpace space(bits);
    const int f = space.AddField("ns", "f");
    FeatureBuilder b(&space);
    b.Clear();
    for (int i = 0; i < 1000; ++i) b.Add(f, absl::StrCat("v", i));
    for (uint32_t index : b.Finish().index) EXPECT_LT(uint64_t{index}, uint64_t{1} << bits);
  }
  // 20,000 values in 2^24 slots: about n^2 / 2m = 12 collisions expected.
  FeatureSpace space(24);
  const int f = space.AddField("ns", "f");
  FeatureBuilder b(&space);
  b.Clear();
  for (int i = 0; i < 20000; ++i) b.Add(f, absl::StrCat("value-", i));
  const std::vector<uint32_t>& index = b.Finish().index;
  EXPECT_GE(std::set<uint32_t>(index.begin(), index.end()).size(), 20000u - 40u);
}

}  // namespace
}  // namespace eddy
