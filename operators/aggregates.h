// Aggregates for windowed features: mergeable summaries.
//
// Each aggregate is a policy type with an accumulator `Acc` (a plain value
// with an eddy::Codec: windows keep one per slice in keyed state) and
//   static void Add(Acc& acc, <input>, EventTime ts);
//   static void Merge(Acc& earlier, const Acc& later);
//   static <result> Result(const Acc& acc, EventTime at);
// Merge is associative, so a window's accumulator is its slices' merged in
// time order (`earlier` covers times before `later`'s; only LastN and the
// decayed aggregates care). `at` is the time the result is read at (only the
// time-decayed aggregates use it). An aggregate whose merge can be undone
// exactly also has
//   static void Subtract(Acc& acc, const Acc& earliest);
// removing the earliest of the accumulators merged into `acc` (Count and
// LastN: a lookback then keeps a running total; operators/windows.h).
//
//   Count, Sum, Mean, Min, Max     numeric (Mean, Min, Max: NaN when empty)
//   Distinct<P>                    distinct count: exact up to 2^P / 16
//                                  values, then HyperLogLog with 2^P registers
//                                  (standard error 1.04 / sqrt(2^P))
//   TopK<M>                        frequent items: space-saving with M counters
//                                  (estimates exceed true counts by at most
//                                  n / M; every item above n / M is kept)
//   LastN<T, N>                    the N latest values (ties: the later added)
//   DecayedSum<H>, DecayedCount<H> sum of x * 2^(-(at - ts) / H) (H: half-life, ms)
//   Ratio                          (a + num) / (b + den): a smoothed ratio such
//                                  as a CTR, with prior a / b
//
// Thread-safety: accumulators are values; policies are stateless.
#ifndef EDDY_OPERATORS_AGGREGATES_H_
#define EDDY_OPERATORS_AGGREGATES_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "engine/record.h"
#include "state/codec.h"

namespace eddy::agg {

// Accumulators of the aggregates below that are templates (one type each,
// so that one codec serves every instance).
struct DistinctAcc {
  std::vector<uint64_t> exact;  // sorted, unique; used while registers is empty
  std::string registers;        // one byte per register once dense
};
struct TopKEntry {
  std::string item;
  int64_t count = 0;
  int64_t error = 0;  // the estimate exceeds the true count by at most this
};
struct TopKAcc {
  std::vector<TopKEntry> entries;  // at most M, in no particular order
};
template <typename T>
struct LastNAcc {
  std::vector<std::pair<EventTime, T>> values;  // oldest first, at most N
};
struct DecayedAcc {
  double value = 0;
  EventTime ref = kMinEventTime;  // the time `value` is as of
};

struct Count {
  struct Acc {
    int64_t n = 0;
  };
  static void Add(Acc& acc, EventTime) { ++acc.n; }
  static void Merge(Acc& earlier, const Acc& later) { earlier.n += later.n; }
  static void Subtract(Acc& acc, const Acc& earliest) { acc.n -= earliest.n; }
  static int64_t Result(const Acc& acc, EventTime = 0) { return acc.n; }
};

struct Sum {
  struct Acc {
    double sum = 0;
  };
  static void Add(Acc& acc, double x, EventTime) { acc.sum += x; }
  static void Merge(Acc& earlier, const Acc& later) { earlier.sum += later.sum; }
  static double Result(const Acc& acc, EventTime = 0) { return acc.sum; }
};

struct Mean {
  struct Acc {
    double sum = 0;
    int64_t n = 0;
  };
  static void Add(Acc& acc, double x, EventTime) {
    acc.sum += x;
    ++acc.n;
  }
  static void Merge(Acc& earlier, const Acc& later) {
    earlier.sum += later.sum;
    earlier.n += later.n;
  }
  static double Result(const Acc& acc, EventTime = 0) {
    return acc.n == 0 ? std::numeric_limits<double>::quiet_NaN() : acc.sum / acc.n;
  }
};

namespace internal {
template <bool kMin>
struct Extreme {
  struct Acc {
    bool any = false;
    double value = 0;
  };
  static void Add(Acc& acc, double x, EventTime) {
    if (!acc.any || (kMin ? x < acc.value : x > acc.value)) acc.value = x;
    acc.any = true;
  }
  static void Merge(Acc& earlier, const Acc& later) {
    if (later.any) Add(earlier, later.value, 0);
  }
  static double Result(const Acc& acc, EventTime = 0) {
    return acc.any ? acc.value : std::numeric_limits<double>::quiet_NaN();
  }
};
}  // namespace internal

using Min = internal::Extreme<true>;
using Max = internal::Extreme<false>;

// Distinct count of 64-bit hashes (use a stable hash, e.g.
// KeyTraits<T>::Hash from engine/key.h, so that state survives restarts).
// Small sets are kept exactly (sorted hashes); past 2^P / 16 of them the
// accumulator becomes a HyperLogLog sketch: Flajolet, Fusy, Gandouet and
// Meunier, "HyperLogLog: the analysis of a near-optimal cardinality
// estimation algorithm" (2007), with its small-range correction (linear
// counting). With 64-bit hashes no large-range correction is needed.
template <int P = 12>
struct Distinct {
  static_assert(P >= 4 && P <= 16, "HyperLogLog precision must be in [4, 16]");
  static constexpr uint32_t kRegisters = 1u << P;
  static constexpr size_t kExactMax = kRegisters / 16;

  using Acc = DistinctAcc;

  static void Add(Acc& acc, uint64_t hash, EventTime) {
    if (acc.registers.empty()) {
      auto it = std::lower_bound(acc.exact.begin(), acc.exact.end(), hash);
      if (it != acc.exact.end() && *it == hash) return;
      acc.exact.insert(it, hash);
      if (acc.exact.size() > kExactMax) Densify(acc);
      return;
    }
    AddToRegisters(acc.registers, hash);
  }

  static void Merge(Acc& earlier, const Acc& later) {
    if (later.registers.empty()) {
      for (uint64_t h : later.exact) Add(earlier, h, 0);
      return;
    }
    if (earlier.registers.empty()) Densify(earlier);
    // (A sketch of another precision, e.g. from a changed job, is not
    // comparable: it is read as far as it goes, never past its end.)
    const uint32_t n = static_cast<uint32_t>(std::min<size_t>(
        kRegisters, std::min(earlier.registers.size(), later.registers.size())));
    for (uint32_t i = 0; i < n; ++i) {
      earlier.registers[i] = std::max(earlier.registers[i], later.registers[i]);
    }
  }

  // NaN for a sketch of another precision (or a corrupt one).
  static double Result(const Acc& acc, EventTime = 0) {
    if (acc.registers.empty()) return static_cast<double>(acc.exact.size());
    if (acc.registers.size() != kRegisters) return std::numeric_limits<double>::quiet_NaN();
    const double m = kRegisters;
    double inverse_sum = 0;
    uint32_t zeros = 0;
    for (char c : acc.registers) {
      const int rank = static_cast<uint8_t>(c);
      inverse_sum += std::ldexp(1.0, -rank);
      if (rank == 0) ++zeros;
    }
    // alpha_m from the paper (its approximation for m >= 128; the exact
    // constants for 16, 32, 64).
    const double alpha = kRegisters == 16   ? 0.673
                         : kRegisters == 32 ? 0.697
                         : kRegisters == 64 ? 0.709
                                            : 0.7213 / (1 + 1.079 / m);
    const double estimate = alpha * m * m / inverse_sum;
    if (estimate <= 2.5 * m && zeros > 0) return m * std::log(m / zeros);  // linear counting
    return estimate;
  }

 private:
  static void AddToRegisters(std::string& registers, uint64_t hash) {
    if (registers.size() != kRegisters) registers.resize(kRegisters, '\0');
    const uint32_t index = static_cast<uint32_t>(hash >> (64 - P));
    // Rank: position of the first 1 bit in the remaining 64 - P bits.
    const uint64_t rest = (hash << P) | (uint64_t{1} << (P - 1));
    const uint8_t rank = static_cast<uint8_t>(__builtin_clzll(rest) + 1);
    if (static_cast<uint8_t>(registers[index]) < rank) registers[index] = static_cast<char>(rank);
  }
  static void Densify(Acc& acc) {
    acc.registers.assign(kRegisters, '\0');
    for (uint64_t h : acc.exact) AddToRegisters(acc.registers, h);
    acc.exact.clear();
    acc.exact.shrink_to_fit();
  }
};

// Frequent items: space-saving (Metwally, Agrawal and El Abbadi, "Efficient
// computation of frequent and top-k elements in data streams", 2005) with M
// counters. An item not in a full summary is counted as its smallest
// counter when summaries merge (as in Agarwal et al., "Mergeable
// summaries", 2012), which keeps the bound: every estimate is at least the
// item's true count and at most true + n / M, n the number of items added.
template <size_t M = 16>
struct TopK {
  static_assert(M > 0, "space-saving needs at least one counter");
  using Entry = TopKEntry;
  using Acc = TopKAcc;

  static void Add(Acc& acc, const std::string& item, EventTime) { AddCount(acc, item, 1); }

  static void Merge(Acc& earlier, const Acc& later) {
    const int64_t floor_earlier = Floor(earlier), floor_later = Floor(later);
    std::vector<Entry> merged;
    merged.reserve(earlier.entries.size() + later.entries.size());
    for (const Entry& e : earlier.entries) {
      const Entry* o = Find(later, e.item);
      merged.push_back({e.item, e.count + (o ? o->count : floor_later),
                        e.error + (o ? o->error : floor_later)});
    }
    for (const Entry& o : later.entries) {
      if (Find(earlier, o.item) != nullptr) continue;
      merged.push_back({o.item, o.count + floor_earlier, o.error + floor_earlier});
    }
    if (merged.size() > M) {
      std::nth_element(merged.begin(), merged.begin() + M, merged.end(), ByCountDesc);
      merged.resize(M);
    }
    earlier.entries = std::move(merged);
  }

  // The k most frequent (estimated) items, most frequent first (ties by item).
  static std::vector<std::pair<std::string, int64_t>> Top(const Acc& acc, size_t k) {
    std::vector<Entry> sorted = acc.entries;
    std::sort(sorted.begin(), sorted.end(), ByCountDesc);
    std::vector<std::pair<std::string, int64_t>> out;
    for (size_t i = 0; i < sorted.size() && i < k; ++i) out.emplace_back(sorted[i].item, sorted[i].count);
    return out;
  }
  static std::vector<std::pair<std::string, int64_t>> Result(const Acc& acc, EventTime = 0) {
    return Top(acc, M);
  }

 private:
  static bool ByCountDesc(const Entry& a, const Entry& b) {
    return a.count != b.count ? a.count > b.count : a.item < b.item;
  }
  static const Entry* Find(const Acc& acc, const std::string& item) {
    for (const Entry& e : acc.entries) {
      if (e.item == item) return &e;
    }
    return nullptr;
  }
  // What an item absent from `acc` may have had: its smallest counter if full.
  static int64_t Floor(const Acc& acc) {
    if (acc.entries.size() < M) return 0;
    int64_t low = std::numeric_limits<int64_t>::max();
    for (const Entry& e : acc.entries) low = std::min(low, e.count);
    return low;
  }
  static void AddCount(Acc& acc, const std::string& item, int64_t n) {
    for (Entry& e : acc.entries) {
      if (e.item == item) {
        e.count += n;
        return;
      }
    }
    if (acc.entries.size() < M) {
      acc.entries.push_back({item, n, 0});
      return;
    }
    // Replace the smallest counter (ties: the smallest item, deterministic).
    auto low = std::min_element(acc.entries.begin(), acc.entries.end(),
                                [](const Entry& a, const Entry& b) {
                                  return a.count != b.count ? a.count < b.count : a.item < b.item;
                                });
    *low = Entry{item, low->count + n, low->count};
  }
};

// The N latest values by event time; among equal times, the later added.
template <typename T, size_t N>
struct LastN {
  using Acc = LastNAcc<T>;
  static void Add(Acc& acc, const T& value, EventTime ts) {
    // After every value with time <= ts (the later added wins ties).
    auto it = std::upper_bound(acc.values.begin(), acc.values.end(), ts,
                               [](EventTime t, const std::pair<EventTime, T>& v) { return t < v.first; });
    acc.values.insert(it, {ts, value});
    if (acc.values.size() > N) acc.values.erase(acc.values.begin());
  }
  static void Merge(Acc& earlier, const Acc& later) {
    std::vector<std::pair<EventTime, T>>& e = earlier.values;
    const std::vector<std::pair<EventTime, T>>& l = later.values;
    if (l.empty()) return;
    if (!e.empty() && l.front().first < e.back().first) {
      for (const auto& [ts, v] : l) Add(earlier, v, ts);
      return;
    }
    // `later` is all at or after `earlier` (a lookback's slices, merged in
    // order): adding its values one by one would append each, so the result
    // is the last N of both, in order, without moving the kept ones N times.
    const size_t take = std::min(l.size(), N);
    const size_t keep = std::min(e.size(), N - take);
    e.erase(e.begin(), e.end() - static_cast<std::ptrdiff_t>(keep));
    e.insert(e.end(), l.end() - static_cast<std::ptrdiff_t>(take), l.end());
  }
  // Removes `earliest`'s values from `acc`, into which it was merged before
  // every later accumulator: the values up to its latest time (a later
  // accumulator's are all after it).
  static void Subtract(Acc& acc, const Acc& earliest) {
    if (earliest.values.empty()) return;
    const EventTime last = earliest.values.back().first;
    auto it = std::upper_bound(acc.values.begin(), acc.values.end(), last,
                               [](EventTime t, const std::pair<EventTime, T>& v) { return t < v.first; });
    acc.values.erase(acc.values.begin(), it);
  }
  // Latest first.
  static std::vector<T> Result(const Acc& acc, EventTime = 0) {
    std::vector<T> out;
    for (auto it = acc.values.rbegin(); it != acc.values.rend(); ++it) out.push_back(it->second);
    return out;
  }
};

// Exponentially time-decayed sum: each x added at ts weighs 2^(-(at - ts) / H)
// when read at `at` (H: the half-life in milliseconds). Kept as the value at
// the latest time seen, so adding and merging are O(1). (kMinEventTime marks
// an empty accumulator: event times are within ±2^53.)
template <int64_t H>
struct DecayedSum {
  static_assert(H > 0, "the half-life must be positive");
  using Acc = DecayedAcc;
  static void Add(Acc& acc, double x, EventTime ts) {
    if (acc.ref == kMinEventTime || ts >= acc.ref) {
      acc.value = acc.ref == kMinEventTime ? x : acc.value * Decay(ts - acc.ref) + x;
      acc.ref = ts;
    } else {
      acc.value += x * Decay(acc.ref - ts);
    }
  }
  static void Merge(Acc& earlier, const Acc& later) {
    if (later.ref != kMinEventTime) Add(earlier, later.value, later.ref);
  }
  static double Result(const Acc& acc, EventTime at) {
    if (acc.ref == kMinEventTime) return 0;
    return at >= acc.ref ? acc.value * Decay(at - acc.ref) : acc.value / Decay(acc.ref - at);
  }

 private:
  static double Decay(EventTime dt) { return std::exp2(-static_cast<double>(dt) / H); }
};

template <int64_t H>
struct DecayedCount {
  using Acc = typename DecayedSum<H>::Acc;
  static void Add(Acc& acc, EventTime ts) { DecayedSum<H>::Add(acc, 1.0, ts); }
  static void Merge(Acc& earlier, const Acc& later) { DecayedSum<H>::Merge(earlier, later); }
  static double Result(const Acc& acc, EventTime at) { return DecayedSum<H>::Result(acc, at); }
};

// A smoothed ratio (prior_num + num) / (prior_den + den), e.g. a CTR with
// clicks over impressions: Add(acc, clicked ? 1 : 0, 1, ts) per impression.
struct Ratio {
  struct Acc {
    double num = 0;
    double den = 0;
  };
  static void Add(Acc& acc, double num, double den, EventTime) {
    acc.num += num;
    acc.den += den;
  }
  static void Merge(Acc& earlier, const Acc& later) {
    earlier.num += later.num;
    earlier.den += later.den;
  }
  static double Result(const Acc& acc, double prior_num, double prior_den) {
    return (prior_num + acc.num) / (prior_den + acc.den);
  }
};

}  // namespace eddy::agg

EDDY_CODEC(eddy::agg::Count::Acc, n);
EDDY_CODEC(eddy::agg::Sum::Acc, sum);
EDDY_CODEC(eddy::agg::Mean::Acc, sum, n);
EDDY_CODEC(eddy::agg::Min::Acc, any, value);
EDDY_CODEC(eddy::agg::Max::Acc, any, value);
EDDY_CODEC(eddy::agg::Ratio::Acc, num, den);
EDDY_CODEC(eddy::agg::DistinctAcc, exact, registers);
EDDY_CODEC(eddy::agg::TopKEntry, item, count, error);
EDDY_CODEC(eddy::agg::TopKAcc, entries);
EDDY_CODEC(eddy::agg::DecayedAcc, value, ref);

namespace eddy {
template <typename T>
struct Codec<agg::LastNAcc<T>, std::enable_if_t<kHasCodec<T>>> {
  static constexpr bool kDefined = true;
  static void Encode(const agg::LastNAcc<T>& v, std::string& out) { EncodeTo(v.values, out); }
  static bool Decode(absl::string_view& in, agg::LastNAcc<T>& v) { return DecodeFrom(in, v.values); }
  static size_t HeapBytes(const agg::LastNAcc<T>& v) { return ::eddy::HeapBytes(v.values); }
};
}  // namespace eddy

#endif  // EDDY_OPERATORS_AGGREGATES_H_
