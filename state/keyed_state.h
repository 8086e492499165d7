// Keyed state for Process functions: values scoped to the current key.
//
// Each task of a keyed operator owns one KeyedStateStore. Before calling the
// user's function the runtime sets the current key; state handles then read
// and write that key's entry. Three kinds of state:
//   ValueState<K, T>      one T per key
//   MapState<K, UK, UV>   a sorted map per key
//   ListState<K, T>       an append-only list per key
//
// Backends. Unbound, the store keeps everything in memory (tests, small
// jobs). Bound to a StateDirectory (Bind), it is a write-back cache in front
// of RocksDB: reads that miss the cache load from RocksDB, writes stay in the
// cache (marked dirty) until Snapshot writes them into a checkpoint batch,
// and clean entries are evicted to stay within the memory budget (Trim), so
// state larger than memory spills to disk. The cost of a snapshot grows with
// the keys changed since the last one. Map and list states are stored as one
// value per key (a key's whole map or list is rewritten when it changed).
//
// A value that is large and changes a little at a time (a model) can be
// stored in parts instead (state/parted.h): a checkpoint then writes what
// changed.
//
// Persistent state needs codecs (state/codec.h) for the key and value types;
// declaring a state without one in a bound store is an error (status()).
//
// Errors: a RocksDB read failure inside a user callback cannot be returned
// there; the store records the first one (status()) and the executor stops
// the job with it after the batch.
//
// Thread-safety: a store and its handles belong to one task. Pointers and
// references returned by handles stay valid until the callback (the
// ProcessElement or OnTimer call) that got them returns, unless the entry is
// cleared: other keys' inserts may move entries, so never keep them across
// calls.
//
// Example:
//   struct CountPerUser {
//     using Out = UserCount;
//     eddy::ValueState<std::string, int64_t> count;
//     void Open(eddy::KeyedStateStore<std::string>& state) {
//       count = state.Value<int64_t>("count");
//     }
//     void ProcessElement(const Listen& e, eddy::ProcessContext<std::string, UserCount>& ctx) {
//       ctx.Emit({ctx.key(), ++count.GetOrCreate()});
//     }
//   };
#ifndef EDDY_STATE_KEYED_STATE_H_
#define EDDY_STATE_KEYED_STATE_H_

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/key.h"
#include "state/codec.h"
#include "state/huge_page_allocator.h"
#include "state/parted.h"
#include "state/state_directory.h"

namespace eddy {

template <typename K>
class KeyedStateStore;

namespace state_internal {

// Bytes of bookkeeping per cached entry, on top of the value's encoded size:
// a key copy in the dirty list, allocator headers; each table adds its slot
// size (EntryOverhead).
inline constexpr size_t kEntryOverhead = 64;

// [key group, 2 bytes big-endian][encoded key]: prefix-free, so one key
// group's state is one contiguous key range.
template <typename K>
void AppendStateKey(uint32_t key_group, const K& key, std::string& out) {
  AppendKeyGroupPrefix(key_group, out);
  EncodeTo(key, out);
}

class TableBase {
 public:
  virtual ~TableBase() = default;
  // Writes dirty entries into `batch`; they become clean.
  virtual absl::Status Snapshot(StateDirectory::Batch& batch) = 0;
  // Evicts clean entries not used since the last call until about
  // `bytes_to_free` are freed; returns the bytes freed.
  virtual size_t Trim(size_t bytes_to_free) = 0;
  virtual size_t approx_bytes() const = 0;
  virtual size_t dirty_bytes() const = 0;
  virtual size_t size() const = 0;
};

template <typename K>
class KeyedTableBase : public TableBase {
 public:
  // Removes `key`'s entry (TTL expiry).
  virtual void EraseKey(const K& key) = 0;
  // Starts loading the memory that looking `key` up will touch.
  virtual void Prefetch(const K& key) const = 0;
};

template <typename K, typename T>
class ValueTable final : public KeyedTableBase<K> {
 public:
  ValueTable(KeyedStateStore<K>* store, StateDirectory* dir, int table, std::string name)
      : store_(store), dir_(dir), table_(table), name_(std::move(name)) {}

  // The current key's slot, loaded from RocksDB on a miss.
  struct Slot {
    T value{};
    bool present = false;
    bool dirty = false;
    bool referenced = true;
    bool erased = false;  // cleared since the last snapshot (its parts go: state/parted.h)
    uint32_t bytes = 0;
  };

  // Flat (slots inline, no node per key): with a million keys, a node's
  // extra cache miss per lookup was the largest cost of a keyed operator
  // (bench/operators/window_benchmark). Inserting may move other keys'
  // slots; a callback only touches its current key's, so its references
  // stay valid while it runs.
  // Its arrays on huge pages once large (state/huge_page_allocator.h).
  using Map = absl::flat_hash_map<K, Slot, absl::Hash<K>, std::equal_to<K>,
                                  HugePageAllocator<std::pair<const K, Slot>>>;

  Slot* Find(const K& key) {
    auto it = map_.find(key);
    if (it != map_.end()) {
      it->second.referenced = true;
      return &it->second;
    }
    if (dir_ == nullptr) return nullptr;
    Slot slot;
    std::string db_key;
    AppendStateKey(KeyGroupOf(key), key, db_key);
    std::string bytes;
    bool found = false;
    absl::Status s = dir_->Get(table_, db_key, &bytes, &found);
    if (!s.ok()) {
      store_->RecordError(s);
      return nullptr;
    }
    if (found) {
      if constexpr (kParted<T>) {
        // The head is found: its parts follow it in key order.
        std::vector<Part> parts;
        std::string prefix = db_key;
        prefix.push_back(kPartMark);
        s = dir_->Scan(table_, prefix, [&](absl::string_view k, absl::string_view v) {
          parts.push_back(Part{std::string(k.substr(prefix.size())), std::string(v)});
          return true;
        });
        if (!s.ok()) {
          store_->RecordError(s);
          return nullptr;
        }
        if (!PartedCodec<T>::Read(bytes, parts, slot.value)) {
          store_->RecordError(absl::DataLossError(
              absl::StrCat("state directory ", dir_->path(), ": undecodable value in ", name_,
                           " (key group ", KeyGroupOf(key), ", ", parts.size(), " parts)")));
          return nullptr;
        }
        bytes.clear();
      } else if constexpr (kHasCodec<T>) {
        if (!DecodeAll(bytes, slot.value)) {
          store_->RecordError(absl::DataLossError(
              absl::StrCat("state directory ", dir_->path(), ": undecodable value in ", name_,
                           " (key group ", KeyGroupOf(key), ")")));
          return nullptr;
        }
      }
      slot.present = true;
    }
    slot.bytes = SlotBytes(slot.value, bytes.size());
    approx_bytes_ += slot.bytes;
    return &map_.emplace(key, std::move(slot)).first->second;
  }

  Slot& FindOrInsert(const K& key) {
    if (Slot* s = Find(key)) return *s;
    Slot slot;
    slot.bytes = static_cast<uint32_t>(EntryOverhead() + sizeof(T));
    approx_bytes_ += slot.bytes;
    return map_.emplace(key, std::move(slot)).first->second;
  }

  // The slot for `key`, inserting an empty one without reading RocksDB (for
  // blind overwrites).
  Slot& FindOrInsertBlind(const K& key) {
    auto it = map_.find(key);
    if (it != map_.end()) {
      it->second.referenced = true;
      return it->second;
    }
    Slot slot;
    slot.bytes = static_cast<uint32_t>(EntryOverhead() + sizeof(T));
    approx_bytes_ += slot.bytes;
    return map_.emplace(key, std::move(slot)).first->second;
  }

  void MarkDirty(const K& key, Slot& slot) {
    if (dir_ == nullptr || slot.dirty) return;
    slot.dirty = true;
    dirty_keys_.push_back(key);
    dirty_bytes_ += slot.bytes;
  }

  void EraseKey(const K& key) override { Erase(key); }
  void Prefetch(const K& key) const override { map_.prefetch(key); }

  void Erase(const K& key) {
    if (dir_ == nullptr) {
      auto it = map_.find(key);
      if (it != map_.end()) {
        approx_bytes_ -= it->second.bytes;
        map_.erase(it);
      }
      return;
    }
    // Keep a tombstone until the next snapshot deletes the key on disk (no
    // need to read the old value).
    Slot& slot = FindOrInsertBlind(key);
    slot.present = false;
    slot.erased = true;
    slot.value = T{};
    MarkDirty(key, slot);
  }

  absl::Status Snapshot(StateDirectory::Batch& batch) override {
    if constexpr (kHasCodec<T>) {
      // Write in key order: RocksDB's memtable inserts sorted keys several
      // times faster than random ones. Only the keys are held at once;
      // values are encoded straight into the batch.
      struct Write {
        std::string key;
        Slot* slot;
      };
      std::vector<Write> writes;
      writes.reserve(dirty_keys_.size());
      for (const K& key : dirty_keys_) {
        auto it = map_.find(key);
        if (it == map_.end() || !it->second.dirty) continue;
        Write w{std::string(), &it->second};
        AppendStateKey(KeyGroupOf(key), key, w.key);
        writes.push_back(std::move(w));
      }
      std::sort(writes.begin(), writes.end(),
                [](const Write& a, const Write& b) { return a.key < b.key; });
      std::string value;
      for (const Write& w : writes) {
        Slot& slot = *w.slot;
        const bool erased = slot.erased;
        slot.erased = false;
        if constexpr (kParted<T>) {
          if (erased) PartWriter(batch, table_, w.key).DeleteAllParts();
        }
        if (slot.present) {
          value.clear();
          if constexpr (kParted<T>) {
            PartWriter parts(batch, table_, w.key);
            PartedCodec<T>::WriteChanges(slot.value, parts, erased);
          } else {
            EncodeTo(slot.value, value);
            batch.Put(table_, w.key, value);
          }
          approx_bytes_ -= slot.bytes;
          slot.bytes = SlotBytes(slot.value, value.size());
          approx_bytes_ += slot.bytes;
        } else {
          batch.Delete(table_, w.key);
        }
        slot.dirty = false;
      }
    }
    dirty_keys_.clear();
    dirty_bytes_ = 0;
    return absl::OkStatus();
  }

  // An entry's share of the table: values live inline in the slot array,
  // which is between 7/16 and 7/8 full (absl's growth), so an entry costs up
  // to about two slots (and a control byte each).
  static constexpr size_t EntryOverhead() {
    return kEntryOverhead + 2 * (sizeof(typename Map::value_type) + 1);
  }

  // What a cached value costs: its entry, and the heap it owns (capacities,
  // nodes: state/codec.h's HeapBytes) or, where its codec cannot tell, its
  // encoded size. (Encoded sizes alone undercounted the CTR job's per-user
  // state about 3x: a genre in 8 encoded bytes is a 40-byte pair in memory.)
  static uint32_t SlotBytes(const T& value, size_t encoded) {
    size_t heap = 0;
    if constexpr (kParted<T>) {
      heap = PartedCodec<T>::HeapBytes(value);
    } else if constexpr (kHasCodec<T>) {
      heap = HeapBytes(value);
    }
    return static_cast<uint32_t>(
        std::min<size_t>(EntryOverhead() + std::max(heap, encoded), UINT32_MAX));
  }

  size_t Trim(size_t bytes_to_free) override {
    if (dir_ == nullptr) return 0;
    size_t freed = 0;
    for (auto it = map_.begin(); it != map_.end() && freed < bytes_to_free;) {
      Slot& slot = it->second;
      if (slot.dirty) {
        ++it;
      } else if (slot.referenced) {
        slot.referenced = false;  // second chance (CLOCK)
        ++it;
      } else {
        freed += slot.bytes;
        approx_bytes_ -= slot.bytes;
        map_.erase(it++);
      }
    }
    // The slot array does not shrink by itself: give memory back once it is
    // mostly empty (between batches, so no reference into it is live).
    if (freed > 0 && map_.size() * 4 < map_.capacity()) map_.rehash(0);
    return freed;
  }

  size_t approx_bytes() const override { return approx_bytes_; }
  size_t dirty_bytes() const override { return dirty_bytes_; }
  size_t size() const override {
    size_t n = 0;
    for (const auto& [k, slot] : map_) n += slot.present ? 1 : 0;
    return n;
  }

 private:
  KeyedStateStore<K>* store_;
  StateDirectory* dir_;  // nullptr: in memory
  int table_;
  std::string name_;     // "<operator>/<state>", for messages
  Map map_;
  std::vector<K> dirty_keys_;
  size_t approx_bytes_ = 0;
  size_t dirty_bytes_ = 0;
};

}  // namespace state_internal

// One T per key. Default-constructed handles are unbound; bind them with
// KeyedStateStore::Value in the function's Open.
template <typename K, typename T>
class ValueState {
 public:
  ValueState() = default;

  // The current key's value, or nullptr if it has none.
  const T* Get() const {
    auto* slot = Slot();
    return slot != nullptr && slot->present ? &slot->value : nullptr;
  }
  // The current key's value for modification (nullptr if it has none).
  T* Mutable() {
    auto* slot = Slot();
    if (slot == nullptr || !slot->present) return nullptr;
    table_->MarkDirty(*store_->current_key(), *slot);
    return &slot->value;
  }
  // The current key's value, default-constructed first if absent.
  T& GetOrCreate() {
    Check();
    auto& slot = table_->FindOrInsert(*store_->current_key());
    if (!slot.present) {
      slot.present = true;
      slot.value = T{};
    }
    table_->MarkDirty(*store_->current_key(), slot);
    return slot.value;
  }
  // Overwrites the current key's value (no read of the old one).
  void Set(T value) {
    Check();
    auto& slot = table_->FindOrInsertBlind(*store_->current_key());
    slot.present = true;
    slot.value = std::move(value);
    table_->MarkDirty(*store_->current_key(), slot);
  }
  void Clear() {
    Check();
    table_->Erase(*store_->current_key());
  }

  // Keys with a value in the cache (all keys, in memory).
  size_t size() const { return table_->size(); }

 private:
  friend class KeyedStateStore<K>;
  using Table = state_internal::ValueTable<K, T>;
  ValueState(KeyedStateStore<K>* store, Table* table) : store_(store), table_(table) {}

  void Check() const {
    assert(table_ != nullptr && "state used before KeyedStateStore bound it in Open");
  }
  typename Table::Slot* Slot() const {
    Check();
    return table_->Find(*store_->current_key());
  }

  KeyedStateStore<K>* store_ = nullptr;
  Table* table_ = nullptr;
};

// A sorted map per key (stored as one value per key).
template <typename K, typename UK, typename UV>
class MapState {
 public:
  MapState() = default;

  const UV* Get(const UK& k) const {
    const std::map<UK, UV>* m = value_.Get();
    if (m == nullptr) return nullptr;
    auto it = m->find(k);
    return it == m->end() ? nullptr : &it->second;
  }
  bool Contains(const UK& k) const { return Get(k) != nullptr; }
  void Put(const UK& k, UV v) { value_.GetOrCreate().insert_or_assign(k, std::move(v)); }
  // The entry for k, default-constructed if absent.
  UV& GetOrCreate(const UK& k) { return value_.GetOrCreate()[k]; }
  void Remove(const UK& k) {
    std::map<UK, UV>* m = value_.Mutable();
    if (m == nullptr) return;
    m->erase(k);
    if (m->empty()) value_.Clear();
  }
  // All entries of the current key, in key order (empty if none).
  const std::map<UK, UV>& Entries() const {
    static const std::map<UK, UV> kEmpty;
    const std::map<UK, UV>* m = value_.Get();
    return m == nullptr ? kEmpty : *m;
  }
  void Clear() { value_.Clear(); }

 private:
  friend class KeyedStateStore<K>;
  explicit MapState(ValueState<K, std::map<UK, UV>> v) : value_(std::move(v)) {}
  ValueState<K, std::map<UK, UV>> value_;
};

// An append-only list per key (stored as one value per key).
template <typename K, typename T>
class ListState {
 public:
  ListState() = default;

  void Add(T v) { value_.GetOrCreate().push_back(std::move(v)); }
  // The current key's items in insertion order (empty if none).
  const std::vector<T>& Get() const {
    static const std::vector<T> kEmpty;
    const std::vector<T>* v = value_.Get();
    return v == nullptr ? kEmpty : *v;
  }
  void Clear() { value_.Clear(); }

 private:
  friend class KeyedStateStore<K>;
  explicit ListState(ValueState<K, std::vector<T>> v) : value_(std::move(v)) {}
  ValueState<K, std::vector<T>> value_;
};

template <typename K>
class KeyedStateStore {
 public:
  KeyedStateStore() = default;
  KeyedStateStore(const KeyedStateStore&) = delete;
  KeyedStateStore& operator=(const KeyedStateStore&) = delete;

  // Makes the store a write-back cache over `dir` for operator `op`, with a
  // cache budget in bytes. REQUIRES: before any state is declared.
  void Bind(StateDirectory* dir, std::string op, size_t budget_bytes) {
    dir_ = dir;
    op_ = std::move(op);
    budget_ = budget_bytes;
  }
  bool persistent() const { return dir_ != nullptr; }
  // The cache budget Trim and WantsCheckpoint hold to. In a run, the
  // runtime sets it before each Trim (its caches share one budget and it
  // decides checkpoints on their totals, not with WantsCheckpoint).
  void set_budget(size_t budget_bytes) { budget_ = budget_bytes; }
  size_t budget() const { return budget_; }

  // Declares a value state named `name`. Declaring the same name twice
  // returns handles to the same table. REQUIRES: the same T for a name.
  template <typename T>
  ValueState<K, T> Value(const std::string& name) {
    if (name.empty() || name.rfind("__", 0) == 0) {
      RecordError(absl::InvalidArgumentError(absl::StrCat(
          "state name '", name, "' of operator '", op_,
          "' is reserved or empty (names starting with __ are the engine's)")));
    }
    return ValueState<K, T>(this, Declare<T>(name));
  }
  // For the engine's own per-key state (TTL bookkeeping): names start "__".
  template <typename T>
  ValueState<K, T> InternalValue(const std::string& name) {
    return ValueState<K, T>(this, Declare<T>(name));
  }
  template <typename UK, typename UV>
  MapState<K, UK, UV> Map(const std::string& name) {
    return MapState<K, UK, UV>(Value<std::map<UK, UV>>(name));
  }
  template <typename T>
  ListState<K, T> List(const std::string& name) {
    return ListState<K, T>(Value<std::vector<T>>(name));
  }

  // A key loses all its state in this store when the watermark passes its
  // last record's time + `ttl`, or when its next record comes `ttl` or more
  // after its last one (event time). Timers do not count as activity. Call
  // in Open. Zero (the default): keep state forever.
  void SetTimeToLive(absl::Duration ttl) { ttl_ = ttl; }
  absl::Duration time_to_live() const { return ttl_; }

  // Entries held in memory over all states (in an unbound store: all of
  // them; bound: the cached ones).
  size_t cached_entries() const {
    size_t n = 0;
    for (const auto& [name, table] : tables_) n += table->size();
    return n;
  }

  // Hints that `key` comes soon: starts loading the memory its cached
  // entries live in. The runtime calls it a few records ahead, so that a
  // batch over many keys waits for several cache misses at once instead of
  // one after another.
  void Prefetch(const K& key) const {
    for (const auto& [name, table] : tables_) table->Prefetch(key);
  }

  // Removes every state of `key` (TTL expiry).
  void ClearKey(const K& key) {
    for (auto& [name, table] : tables_) table->EraseKey(key);
  }

  // Set by the runtime before each call into user code. Not owned.
  void SetCurrentKey(const K* key) { current_key_ = key; }
  const K* current_key() const { return current_key_; }

  // Writes every dirty entry of every state into `batch`.
  absl::Status Snapshot(StateDirectory::Batch& batch) {
    for (auto& [name, table] : tables_) {
      absl::Status s = table->Snapshot(batch);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // Evicts clean entries until the cache is within its budget (or nothing
  // more can go). Call between batches.
  void Trim() {
    if (dir_ == nullptr) return;
    // Down to 90% of the budget; a second pass evicts entries whose second
    // chance the first pass used up.
    for (int round = 0; round < 2; ++round) {
      const size_t bytes = approx_bytes();
      const size_t target = budget_ - budget_ / 10;
      if (bytes <= budget_ && round == 0) return;
      if (bytes <= target) return;
      size_t to_free = bytes - target;
      for (auto& [name, table] : tables_) {
        if (to_free == 0) break;
        const size_t freed = table->Trim(to_free);
        to_free -= std::min(freed, to_free);
      }
    }
  }
  // True when dirty entries stand in the way of the budget: only a
  // checkpoint can make them evictable, and a checkpoint's batch is about as
  // large again. That is, when the cache and the next checkpoint's batch
  // (about the dirty bytes) pass the budget, and the dirty entries are more
  // than a quarter of it (a checkpoint then frees something worth its
  // cost). Dirty entries within the budget wait for the periodic
  // checkpoint: a large value rewritten at every batch (a model) would
  // otherwise force a checkpoint after every batch, and freeing it does
  // not help, as the next batch dirties it again.
  bool WantsCheckpoint() const {
    if (dir_ == nullptr) return false;
    const size_t dirty = dirty_bytes();
    return dirty > budget_ / 4 && approx_bytes() + dirty > budget_;
  }
  // Bytes of the entries changed since the last snapshot.
  size_t dirty_bytes() const {
    size_t n = 0;
    for (const auto& [name, table] : tables_) n += table->dirty_bytes();
    return n;
  }
  size_t approx_bytes() const {
    size_t n = 0;
    for (const auto& [name, table] : tables_) n += table->approx_bytes();
    return n;
  }
  // Entries with a value in the cache, over all states.
  size_t TotalEntries() const {
    size_t n = 0;
    for (const auto& [name, table] : tables_) n += table->size();
    return n;
  }

  // The first error met (a failed read, a state without a codec).
  const absl::Status& status() const { return status_; }
  void RecordError(absl::Status s) {
    if (status_.ok()) status_ = std::move(s);
  }

 private:
  template <typename T>
  state_internal::ValueTable<K, T>* Declare(const std::string& name) {
    for (auto& [n, table] : tables_) {
      if (n == name) return static_cast<state_internal::ValueTable<K, T>*>(table.get());
    }
    int id = -1;
    if (dir_ != nullptr) {
      if constexpr (!kHasCodec<K> || !kHasCodec<T>) {
        RecordError(absl::FailedPreconditionError(absl::StrCat(
            "state '", name, "' of operator '", op_,
            "' has a key or value type without an eddy::Codec; persistent state needs one "
            "(state/codec.h)")));
      }
      absl::StatusOr<int> t = dir_->Table(op_ + "/" + name);
      if (!t.ok()) {
        RecordError(t.status());
      } else {
        id = *t;
      }
    }
    auto table = std::make_unique<state_internal::ValueTable<K, T>>(
        this, id >= 0 ? dir_ : nullptr, id, op_ + "/" + name);
    auto* raw = table.get();
    tables_.emplace_back(name, std::move(table));
    return raw;
  }

  const K* current_key_ = nullptr;
  StateDirectory* dir_ = nullptr;
  std::string op_;
  size_t budget_ = 0;
  absl::Status status_;
  std::vector<std::pair<std::string, std::unique_ptr<state_internal::KeyedTableBase<K>>>> tables_;
  absl::Duration ttl_ = absl::ZeroDuration();
};

}  // namespace eddy

#endif  // EDDY_STATE_KEYED_STATE_H_
