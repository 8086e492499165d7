// Keyed state for Process functions: values scoped to the current key.
//
// Each task of a keyed operator owns one KeyedStateStore. Before calling the
// user's function the runtime sets the current key; ValueState handles then
// read and write the value of that key. This is the in-memory backend; the
// RocksDB backend (issue: keyed state in RocksDB) offers the same API.
//
// Thread-safety: a store and its handles belong to one task (one thread at a
// time).
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

#include <cassert>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace eddy {

template <typename K>
class KeyedStateStore;

namespace state_internal {

class TableBase {
 public:
  virtual ~TableBase() = default;
  virtual size_t size() const = 0;
};

template <typename K, typename T>
class ValueTable : public TableBase {
 public:
  size_t size() const override { return map.size(); }
  absl::flat_hash_map<K, T> map;
};

}  // namespace state_internal

// A handle to one named value per key. Default-constructed handles are
// unbound; bind them with KeyedStateStore::Value in the function's Open.
template <typename K, typename T>
class ValueState {
 public:
  ValueState() = default;

  // The current key's value, or nullptr if it has none. The pointer is valid
  // until the next write to this state.
  T* Get() const {
    assert(table_ != nullptr && "ValueState used before KeyedStateStore::Value bound it");
    auto it = table_->map.find(*store_->current_key());
    return it == table_->map.end() ? nullptr : &it->second;
  }
  // The current key's value, default-constructed first if absent.
  T& GetOrCreate() {
    assert(table_ != nullptr && "ValueState used before KeyedStateStore::Value bound it");
    return table_->map[*store_->current_key()]; }
  void Set(T value) { table_->map.insert_or_assign(*store_->current_key(), std::move(value)); }
  void Clear() { table_->map.erase(*store_->current_key()); }

  // Number of keys with a value (all keys of the task).
  size_t size() const { return table_->map.size(); }

 private:
  friend class KeyedStateStore<K>;
  ValueState(KeyedStateStore<K>* store, state_internal::ValueTable<K, T>* table)
      : store_(store), table_(table) {}

  KeyedStateStore<K>* store_ = nullptr;
  state_internal::ValueTable<K, T>* table_ = nullptr;
};

template <typename K>
class KeyedStateStore {
 public:
  // Declares a value state named `name`. Declaring the same name twice
  // returns handles to the same table. REQUIRES: the same T for a name.
  template <typename T>
  ValueState<K, T> Value(const std::string& name) {
    for (auto& [n, table] : tables_) {
      if (n == name) {
        return ValueState<K, T>(this,
                                static_cast<state_internal::ValueTable<K, T>*>(table.get()));
      }
    }
    auto table = std::make_unique<state_internal::ValueTable<K, T>>();
    auto* raw = table.get();
    tables_.emplace_back(name, std::move(table));
    return ValueState<K, T>(this, raw);
  }

  // Set by the runtime before each call into user code. Not owned.
  void SetCurrentKey(const K* key) { current_key_ = key; }
  const K* current_key() const { return current_key_; }

  // Total entries over all tables (for metrics and tests).
  size_t TotalEntries() const {
    size_t n = 0;
    for (const auto& [name, table] : tables_) n += table->size();
    return n;
  }

 private:
  const K* current_key_ = nullptr;
  std::vector<std::pair<std::string, std::unique_ptr<state_internal::TableBase>>> tables_;
};

}  // namespace eddy

#endif  // EDDY_STATE_KEYED_STATE_H_
