// Merging the partitions of a batch back into one deterministic order.
//
// Each partition of a stream is sorted by Tag, and no Tag appears in two
// partitions (engine/record.h). The merged order is therefore the same for
// any number of partitions: this is what makes outputs independent of
// --threads.
#ifndef EDDY_ENGINE_TAG_MERGE_H_
#define EDDY_ENGINE_TAG_MERGE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "engine/record.h"

namespace eddy {

// Calls visit(partition, index) for every element of `parts` in Tag order.
// `tag_of(partition, index)` returns the element's Tag. Linear in the number
// of elements times the number of partitions (small: one per thread).
template <typename SizeOf, typename TagOf, typename Visit>
void MergeByTag(int partitions, SizeOf size_of, TagOf tag_of, Visit visit) {
  if (partitions == 1) {
    const size_t n = size_of(0);
    for (size_t i = 0; i < n; ++i) visit(0, i);
    return;
  }
  std::vector<size_t> head(partitions, 0);
  std::vector<size_t> size(partitions);
  for (int p = 0; p < partitions; ++p) size[p] = size_of(p);
  for (;;) {
    int best = -1;
    Tag best_tag;
    for (int p = 0; p < partitions; ++p) {
      if (head[p] == size[p]) continue;
      const Tag t = tag_of(p, head[p]);
      if (best < 0 || t < best_tag) {
        best = p;
        best_tag = t;
      }
    }
    if (best < 0) return;
    visit(best, head[best]++);
  }
}

// Merges the partitions of `buffer` by tag.
template <typename T, typename Visit>
void MergeBuffer(const PartitionedBuffer<T>& buffer, Visit visit) {
  MergeByTag(
      static_cast<int>(buffer.parts.size()),
      [&](int p) { return buffer.parts[p].size(); },
      [&](int p, size_t i) { return buffer.parts[p][i].tag; }, visit);
}

// Re-sequencing (exchanges and unions): records get tags 0..n-1 in merged
// order. Errors if a batch has too many records for 32-bit sequence tags.
inline absl::Status CheckSequenceRoom(size_t records, const char* kind, const std::string& name) {
  if (records < Tag::kTimerSeq) return absl::OkStatus();
  return absl::ResourceExhaustedError(std::string(kind) + " '" + name +
                                      "': more than 4 billion records in one batch");
}

// Appends `r` to `dest` re-tagged as `seq`, moving its value when the
// upstream has no other reader (`move`), copying it otherwise.
template <typename T>
void AppendRetagged(std::vector<Record<T>>& dest, Record<T>& r, bool move, uint32_t seq) {
  if (move) {
    dest.push_back(Record<T>{std::move(r.value), r.ts, Tag{seq, 0, 0}});
  } else {
    dest.push_back(Record<T>{r.value, r.ts, Tag{seq, 0, 0}});
  }
}

}  // namespace eddy

#endif  // EDDY_ENGINE_TAG_MERGE_H_
