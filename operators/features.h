// Sparse feature vectors: hashed features in a 2^bits space, as the models
// (and Vowpal Wabbit) take them.
//
// A FeatureSpace declares the fields once: each has a namespace and a name
// ("user", "listens_1h.genre"), whose hash is computed then, so that adding
// a value costs one short hash. A feature is (field, value, weight):
//   categorical  user.listens_1h.genre=jazz  weight 3 (e.g. a count)
//   numeric      ad.ctr_24h                 weight 0.031
//   log bucket   user.listens_24h=b5        weight 1 (bucket floor(log2(1 + x)))
// Its index is xxHash3(value, seed = hash(namespace, name)) mod 2^bits.
// Crosses between two namespaces ("user" x "ad") add, for every pair of
// features of the two, a feature whose index mixes theirs and whose weight
// is their product, like VW's quadratic interactions (-q). Indices may repeat
// (hash collisions, or a value added twice): the entries are kept apart, and
// a linear model then sums them, as VW does.
//
// With auditing on, each entry also gets its readable name
// (`user.listens_1h.genre=jazz`, `user.genre=jazz^ad.category=concerts`), so
// that a prediction's inputs can be checked against the raw events.
//
// Thread-safety: a FeatureSpace is immutable once built (share it); a
// FeatureBuilder belongs to one thread.
#ifndef EDDY_OPERATORS_FEATURES_H_
#define EDDY_OPERATORS_FEATURES_H_


#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "engine/json_writer.h"
#include "engine/key.h"
#include "state/codec.h"

// Inlined here (after engine/key.h, whose inline functions call the
// library's): the hashes are of short strings, where a call through the
// shared library's dispatch costs as much as the hash.
#define XXH_INLINE_ALL
#include <xxhash.h>
#undef XXH_INLINE_ALL

namespace eddy {

struct SparseVector {
  std::vector<uint32_t> index;
  std::vector<float> value;
  void clear() {
    index.clear();
    value.clear();
  }
  size_t size() const { return index.size(); }
};

// One entry of an audited vector.
struct FeatureAudit {
  std::string name;
  float value = 0;
  uint32_t index = 0;
};

// An audit as a JSON array, [{"name":"user.listens_1h.genre=jazz",
// "value":2,"index":123456}, ...], appended to `out`.
inline void AppendAuditJson(const std::vector<FeatureAudit>& audit, std::string& out) {
  out.push_back('[');
  for (size_t i = 0; i < audit.size(); ++i) {
    if (i > 0) out.push_back(',');
    JsonObjectWriter w(out);
    w.Field("name", audit[i].name)
        .Field("value", static_cast<double>(audit[i].value))
        .Field("index", audit[i].index);
    w.Close();
  }
  out.push_back(']');
}

class FeatureSpace {
 public:
  struct Field {
    int ns = 0;  // namespace number
    uint64_t seed = 0;
    std::string name;  // "ns.name"
    bool ignored = false;  // left out of every vector (Ignore)
  };

  explicit FeatureSpace(int bits) : bits_(bits < 1 ? 1 : bits > 31 ? 31 : bits) {}

  // Declares a field; returns its handle for FeatureBuilder.
  int AddField(absl::string_view ns, absl::string_view name) {
    const int n = Namespace(ns);
    const uint64_t ns_hash = XXH3_64bits(ns.data(), ns.size());
    fields_.push_back({n, XXH3_64bits_withSeed(name.data(), name.size(), ns_hash),
                       absl::StrCat(ns, ".", name)});
    return static_cast<int>(fields_.size()) - 1;
  }
  // Crosses namespaces `a` and `b` (declared by their fields, or later).
  void AddCross(absl::string_view a, absl::string_view b) {
    crosses_.emplace_back(Namespace(a), Namespace(b));
  }

  // Leaves a field ("ns.name") or a whole namespace ("ns") out of every
  // vector, as Vowpal Wabbit's --ignore: to measure what a feature is worth
  // or to drop one that only adds noise, without changing the job.
  absl::Status Ignore(absl::string_view name) {
    bool found = false;
    for (Field& f : fields_) {
      const absl::string_view full = f.name;
      if (full == name || (full.size() > name.size() && full.substr(0, name.size()) == name &&
                           full[name.size()] == '.' && namespace_names_[f.ns] == name)) {
        f.ignored = found = true;
      }
    }
    if (!found) return absl::InvalidArgumentError(absl::StrCat("no feature field or namespace '", name, "'"));
    return absl::OkStatus();
  }

  int bits() const { return bits_; }
  uint32_t mask() const { return (1u << bits_) - 1; }
  const Field& field(int f) const { return fields_[f]; }
  size_t namespaces() const { return namespace_names_.size(); }
  const std::vector<std::pair<int, int>>& crosses() const { return crosses_; }

 private:
  int Namespace(absl::string_view ns) {
    for (size_t i = 0; i < namespace_names_.size(); ++i) {
      if (namespace_names_[i] == ns) return static_cast<int>(i);
    }
    namespace_names_.emplace_back(ns);
    return static_cast<int>(namespace_names_.size()) - 1;
  }

  int bits_;
  std::vector<Field> fields_;
  std::vector<std::string> namespace_names_;
  std::vector<std::pair<int, int>> crosses_;
};

class FeatureBuilder {
 public:
  // `space` outlives the builder and has all its fields and crosses
  // declared already. With `audit`, names are kept (slower).
  explicit FeatureBuilder(const FeatureSpace* space, bool audit = false)
      : space_(space), audit_(audit), by_ns_(space->namespaces()) {}

  // Starts a new vector.
  void Clear() {
    out_.clear();
    audits_.clear();
    for (auto& v : by_ns_) v.clear();
  }

  // field=value with `weight`.
  void Add(int field, absl::string_view value, float weight = 1) {
    const FeatureSpace::Field& f = space_->field(field);
    if (f.ignored) return;
    const uint64_t h = XXH3_64bits_withSeed(value.data(), value.size(), f.seed);
    Push(f.ns, h, weight);
    if (audit_) Audit(absl::StrCat(f.name, "=", value), weight);
  }
  // The field itself with a numeric weight (NaN and infinities are left out:
  // a model must not see them).
  void AddNumeric(int field, double x) {
    const FeatureSpace::Field& f = space_->field(field);
    if (!std::isfinite(x) || f.ignored) return;
    Push(f.ns, f.seed, static_cast<float>(x));
    if (audit_) Audit(f.name, static_cast<float>(x));
  }
  // field=b<k>, k = floor(log2(1 + x)) for x >= 0 ("neg" below 0): counts
  // and durations spread over orders of magnitude.
  void AddLogBucket(int field, double x) {
    if (std::isnan(x)) return;
    char buf[8] = {'b'};
    absl::string_view bucket = "neg";
    if (x >= 0) {
      // The binary exponent of 1 + x (>= 1, normal): floor(log2) exactly
      // (1024 for infinity).
      uint64_t bits;
      const double y = 1 + x;
      std::memcpy(&bits, &y, sizeof bits);
      int k = static_cast<int>((bits >> 52) & 0x7ff) - 1023;
      // 1 + x may have rounded up to the next power of two (x = 1 - 2^-53,
      // x = 2^54 - 2): then x is below 2^k - 1 and the bucket is one lower.
      if (k > 0 && k < 1024) {
        const uint64_t pow2_bits = static_cast<uint64_t>(k + 1023) << 52;
        double pow2;
        std::memcpy(&pow2, &pow2_bits, sizeof pow2);
        if (x < pow2 - 1) --k;
      }
      char digits[5];
      int n = 0;
      do {
        digits[n++] = static_cast<char>('0' + k % 10);
        k /= 10;
      } while (k > 0);
      for (int i = 0; i < n; ++i) buf[1 + i] = digits[n - 1 - i];
      bucket = absl::string_view(buf, static_cast<size_t>(1 + n));
    }
    Add(field, bucket);
  }

  // Adds the crosses and returns the vector (valid until the next Clear).
  const SparseVector& Finish() {
    size_t n = out_.size();
    for (const auto& [a, b] : space_->crosses()) n += by_ns_[a].size() * by_ns_[b].size();
    const size_t first = out_.size();
    out_.index.resize(n);
    out_.value.resize(n);
    uint32_t* index = out_.index.data() + first;
    float* value = out_.value.data() + first;
    const uint32_t mask = space_->mask();
    for (const auto& [a, b] : space_->crosses()) {
      for (const Entry& x : by_ns_[a]) {
        for (const Entry& y : by_ns_[b]) {
          *index++ = static_cast<uint32_t>(HashCombine(x.hash, y.hash)) & mask;
          *value++ = x.weight * y.weight;
        }
      }
    }
    if (audit_) {
      size_t at = first;
      for (const auto& [a, b] : space_->crosses()) {
        for (const Entry& x : by_ns_[a]) {
          for (const Entry& y : by_ns_[b]) {
            audits_.push_back({absl::StrCat(audits_[x.audit].name, "^", audits_[y.audit].name),
                               out_.value[at], out_.index[at]});
            ++at;
          }
        }
      }
    }
    return out_;
  }

  // With auditing: one entry per vector entry, in the same order.
  const std::vector<FeatureAudit>& audit() const { return audits_; }

 private:
  struct Entry {
    uint64_t hash;
    float weight;
    uint32_t audit;  // index in audits_
  };
  void Push(int ns, uint64_t hash, float weight) {
    out_.index.push_back(static_cast<uint32_t>(hash) & space_->mask());
    out_.value.push_back(weight);
    // Field by field: an Entry built aside and copied in as a whole stalled
    // on store forwarding (a third of the time, bench/operators/window_benchmark).
    Entry& e = by_ns_[ns].emplace_back();
    e.hash = hash;
    e.weight = weight;
    e.audit = static_cast<uint32_t>(audits_.size());
  }
  void Audit(std::string name, float weight) {
    audits_.push_back({std::move(name), weight, out_.index.back()});
  }

  const FeatureSpace* space_;
  bool audit_;
  SparseVector out_;
  std::vector<std::vector<Entry>> by_ns_;
  std::vector<FeatureAudit> audits_;
};

}  // namespace eddy

// Vectors cross processes (a KeyBy in `eddy run`) and sit in state.
EDDY_CODEC(eddy::SparseVector, index, value);

#endif  // EDDY_OPERATORS_FEATURES_H_
