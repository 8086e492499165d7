// State codecs round-trip every supported type and reject corrupt bytes.
#include "state/codec.h"

#include <limits>
#include <map>
#include <string>
#include <vector>
#include <random>

#include "gtest/gtest.h"

struct Window {
  int64_t start = 0;
  std::map<std::string, int64_t> counts;
  std::vector<double> scores;
  std::optional<std::string> label;
};
EDDY_CODEC(Window, start, counts, scores, label);

namespace eddy {
namespace {

template <typename T>
T RoundTrip(const T& v) {
  const std::string bytes = Encode(v);
  T out{};
  EXPECT_TRUE(DecodeAll(bytes, out));
  return out;
}

TEST(CodecTest, ScalarsStringsAndContainersRoundTrip) {
  EXPECT_EQ(RoundTrip<int64_t>(std::numeric_limits<int64_t>::min()), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(RoundTrip<uint32_t>(4000000000u), 4000000000u);
  EXPECT_EQ(RoundTrip<double>(-1.25e300), -1.25e300);
  EXPECT_EQ(RoundTrip<bool>(true), true);
  EXPECT_EQ(RoundTrip<std::string>(std::string("a\0b", 3)), std::string("a\0b", 3));
  EXPECT_EQ(RoundTrip<std::string>(std::string(100000, 'x')), std::string(100000, 'x'));
  const std::vector<std::string> v = {"", "one", std::string(300, 'z')};
  EXPECT_EQ(RoundTrip(v), v);
  const std::map<int64_t, std::vector<int32_t>> m = {{-5, {1, 2}}, {7, {}}};
  EXPECT_EQ(RoundTrip(m), m);
  const std::pair<std::string, int64_t> p = {"user", 42};
  EXPECT_EQ(RoundTrip(p), p);
  const std::tuple<int8_t, std::string, double> t = {-3, "x", 0.5};
  EXPECT_EQ(RoundTrip(t), t);
  EXPECT_EQ(RoundTrip(std::optional<int64_t>()), std::nullopt);
  EXPECT_EQ(RoundTrip(std::optional<int64_t>(9)), std::optional<int64_t>(9));
}

TEST(CodecTest, UserStructWithEddyCodecRoundTrips) {
  Window w;
  w.start = 1735689600000;
  w.counts = {{"jazz", 3}, {"pop", 1}};
  w.scores = {0.5, -2};
  w.label = "hot";
  const Window back = RoundTrip(w);
  EXPECT_EQ(back.start, w.start);
  EXPECT_EQ(back.counts, w.counts);
  EXPECT_EQ(back.scores, w.scores);
  EXPECT_EQ(back.label, w.label);
}

TEST(CodecTest, EncodingsArePrefixFreeSoKeysConcatenate) {
  std::string bytes;
  EncodeTo(std::string("ab"), bytes);
  EncodeTo(std::string("c"), bytes);
  EncodeTo(int64_t{5}, bytes);
  absl::string_view in = bytes;
  std::string a, b;
  int64_t c = 0;
  ASSERT_TRUE(DecodeFrom(in, a) && DecodeFrom(in, b) && DecodeFrom(in, c));
  EXPECT_EQ(a, "ab");
  EXPECT_EQ(b, "c");
  EXPECT_EQ(c, 5);
  EXPECT_TRUE(in.empty());
}

TEST(CodecTest, TruncatedOrCorruptBytesAreRejectedWithoutCrashing) {
  Window w;
  w.counts = {{"jazz", 3}};
  w.scores = {1, 2, 3};
  w.label = "x";
  const std::string bytes = Encode(w);
  for (size_t n = 0; n < bytes.size(); ++n) {
    Window out;
    EXPECT_FALSE(DecodeAll(absl::string_view(bytes.data(), n), out)) << "prefix " << n;
  }
  Window out;
  EXPECT_FALSE(DecodeAll(bytes + "x", out)) << "trailing byte";
  // A length far beyond the input must not allocate or read past the end.
  std::string huge;
  codec_internal::PutVarint(uint64_t{1} << 60, huge);
  std::vector<int64_t> v;
  absl::string_view in = huge;
  EXPECT_FALSE(DecodeFrom(in, v));
  // Random bytes: decoding may fail but must stay in bounds (ASan checks).
  std::mt19937_64 rng(1);
  for (int i = 0; i < 2000; ++i) {
    std::string junk(rng() % 64, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    Window j;
    DecodeAll(junk, j);
  }
}

// HeapBytes counts what a value holds in memory, which its encoding does
// not show: capacities, long strings, map nodes, through user structs; an
// inlined vector within its inline space and a short string own nothing.
TEST(CodecTest, HeapBytesCountsCapacitiesNodesAndLongStrings) {
  EXPECT_EQ(HeapBytes(int64_t{5}), 0u);
  EXPECT_EQ(HeapBytes(std::string("jazz")), 0u);  // in its own short buffer
  const std::string long_string(100, 'x');
  EXPECT_GE(HeapBytes(long_string), 100u);

  std::vector<std::pair<std::string, int64_t>> genres;
  genres.reserve(1000);
  for (int i = 0; i < 10; ++i) genres.emplace_back("g" + std::to_string(i), i);
  // Ten pairs encode to about 110 bytes; the vector holds 1000 of 40.
  EXPECT_LT(Encode(genres).size(), 200u);
  EXPECT_EQ(HeapBytes(genres), 1000 * sizeof(genres[0]));
  genres.push_back({long_string, 1});
  EXPECT_EQ(HeapBytes(genres), 1000 * sizeof(genres[0]) + HeapBytes(long_string));

  absl::InlinedVector<int64_t, 4> inlined = {1, 2, 3};
  EXPECT_EQ(HeapBytes(inlined), 0u);
  for (int64_t i = 0; i < 100; ++i) inlined.push_back(i);
  EXPECT_GE(HeapBytes(inlined), 103 * sizeof(int64_t));

  const std::map<int64_t, int64_t> m = {{1, 1}, {2, 2}, {3, 3}};
  EXPECT_GE(HeapBytes(m), 3 * (2 * sizeof(int64_t) + 3 * sizeof(void*)));

  Window w;
  w.counts = {{"jazz", 3}, {"pop", 1}};
  w.scores.reserve(64);
  w.label = long_string;
  EXPECT_EQ(HeapBytes(w), HeapBytes(w.counts) + 64 * sizeof(double) + HeapBytes(long_string));
  EXPECT_TRUE(kHasHeapBytes<Window>);
}

}  // namespace
}  // namespace eddy
