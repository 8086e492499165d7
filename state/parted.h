// Values stored in parts, so that a checkpoint writes what changed rather
// than the whole value. A keyed state's value is normally one RocksDB entry,
// rewritten whole at each checkpoint after any change: right for a user's
// counters, wrong for a model of a million weights of which a checkpoint's
// interval touches a few percent (the CTR job wrote its 8 MiB model at
// every checkpoint, and the soak's RSS swung with each write batch).
//
// A parted value is a head under the value's key and parts under
// key + kPartMark + suffix (state keys are prefix-free, so no other key's
// entries fall in that range). A type opts in by specialising
// PartedCodec<T>:
//
//   static constexpr bool kDefined = true;
//   // Writes the head and whatever parts changed since the last call (all
//   // of them the first time, and with `everything`: the key's parts were
//   // just deleted). May update bookkeeping in v.
//   static void WriteChanges(T& v, PartWriter& w, bool everything);
//   // Rebuilds v from its head and its parts (in key order); false if they
//   // are not a value of T (corrupt).
//   static bool Read(absl::string_view head, const std::vector<Part>& parts, T& v);
//   // The heap v holds (the cache's accounting).
//   static size_t HeapBytes(const T& v);
//
// Codec<T> stays the type's whole-value format (files, tests). ValueTable
// (state/keyed_state.h) reads and writes parted values through PartedCodec;
// clearing a key deletes its parts (also when the key gets a value again
// in the same checkpoint interval: WriteChanges then writes everything).
//
// Bookkeeping in the value describes what its key holds on disk: a value
// copied to another key must not keep it (see ModelBox). Changelogs and key-group moves handle
// parts like any entry: they carry the key group prefix.
#ifndef EDDY_STATE_PARTED_H_
#define EDDY_STATE_PARTED_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "state/state_directory.h"

namespace eddy {

template <typename T, typename Enable = void>
struct PartedCodec {
  static constexpr bool kDefined = false;
};
template <typename T>
inline constexpr bool kParted = PartedCodec<T>::kDefined;

inline constexpr char kPartMark = '\x01';

struct Part {
  std::string suffix;  // the key after key + kPartMark
  std::string bytes;
};

// Writes one key's head and parts into a checkpoint batch.
class PartWriter {
 public:
  PartWriter(StateDirectory::Batch& batch, int table, absl::string_view key)
      : batch_(batch), table_(table), key_(key) {}

  void PutHead(absl::string_view bytes) { batch_.Put(table_, key_, bytes); }
  void PutPart(absl::string_view suffix, absl::string_view bytes) {
    batch_.Put(table_, PartKey(suffix), bytes);
  }
  void DeletePart(absl::string_view suffix) { batch_.Delete(table_, PartKey(suffix)); }
  // Every part of the key (not its head).
  void DeleteAllParts() {
    std::string begin(key_), end(key_);
    begin.push_back(kPartMark);
    end.push_back(static_cast<char>(kPartMark + 1));
    batch_.DeleteRange(table_, begin, end);
  }

 private:
  const std::string& PartKey(absl::string_view suffix) {
    scratch_.assign(key_.data(), key_.size());
    scratch_.push_back(kPartMark);
    scratch_.append(suffix.data(), suffix.size());
    return scratch_;
  }

  StateDirectory::Batch& batch_;
  int table_;
  absl::string_view key_;
  std::string scratch_;
};

}  // namespace eddy

#endif  // EDDY_STATE_PARTED_H_
