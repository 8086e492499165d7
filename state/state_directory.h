// A state directory: one RocksDB database holding a job's keyed state,
// timers and checkpoints.
//
// Each table (one per declared state of an operator, plus its timers) is a
// column family. Keys start with their key group (2 bytes, big-endian), so
// one key group's state can be scanned, handed over or dropped. Writes happen
// only through Commit: a checkpoint is one atomic, synced write batch.
//
// The memory budget is split: a quarter for RocksDB's block cache, an eighth
// for its memtables (shared by all column families, each flushed at a 32nd),
// and half for the write-back caches of the keyed state in front of it
// (cache_budget()); the last eighth is left for the checkpoint's batch and
// RocksDB's table readers.
//
// Thread-safety: Get and Scan may be called from any thread; Table, Commit
// and the meta calls from the coordinating thread only.
//
// Example:
//   EDDY_ASSIGN_OR_RETURN(auto dir, StateDirectory::Open({"/var/eddy/ctr", "ctr"}));
//   EDDY_ASSIGN_OR_RETURN(int table, dir->Table("counter/count"));
//   StateDirectory::Batch batch;
//   batch.Put(table, key, value);
//   EDDY_RETURN_IF_ERROR(dir->Commit(batch));
#ifndef EDDY_STATE_STATE_DIRECTORY_H_
#define EDDY_STATE_STATE_DIRECTORY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace eddy {

// Key bytes that sort as the numbers they hold. Appends the low `bytes`
// bytes of `v`, big-endian.
inline void AppendBigEndian(uint64_t v, int bytes, std::string& out) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
// The number in `s` (at most 8 bytes), big-endian.
inline uint64_t ReadBigEndian(absl::string_view s) {
  uint64_t v = 0;
  for (char c : s) v = (v << 8) | static_cast<uint8_t>(c);
  return v;
}
// A signed time in 8 bytes that sort as the times do (the sign bit
// flipped, big-endian): timer keys, a lookback's slices.
inline void AppendOrderedTime(int64_t t, std::string& out) {
  AppendBigEndian(static_cast<uint64_t>(t) ^ (uint64_t{1} << 63), 8, out);
}
inline int64_t ReadOrderedTime(absl::string_view eight) {
  return static_cast<int64_t>(ReadBigEndian(eight) ^ (uint64_t{1} << 63));
}

// Appends the 2-byte big-endian key-group prefix that starts every keyed
// state and timer key, so one key group's entries form one key range.
inline void AppendKeyGroupPrefix(uint32_t key_group, std::string& out) {
  AppendBigEndian(key_group, 2, out);
}

class StateDirectory {
 public:
  // Version of the on-disk layout this build reads and writes. (3: models
  // and lookbacks stored in parts, state/parted.h.)
  static constexpr int kFormatVersion = 3;

  struct Options {
    std::string path;
    std::string job;  // the directory belongs to this job
    size_t memory_budget_bytes = size_t{256} << 20;
  };

  // Opens or creates the directory (mode 0700). Errors name the directory:
  // in use by another process (RocksDB's lock), corrupt, written by an
  // incompatible version, belonging to another job, or not a state directory.
  static absl::StatusOr<std::unique_ptr<StateDirectory>> Open(const Options& options);
  ~StateDirectory();

  const std::string& path() const { return path_; }
  // Bytes the keyed-state caches may use in all.
  size_t cache_budget() const { return cache_budget_; }

  // The id of table `name`, creating its column family if needed.
  absl::StatusOr<int> Table(const std::string& name);

  // Table names, by id (a table's name is "<operator>/<state>").
  const std::vector<std::string>& table_names() const { return table_names_; }

  // Reads one value. `found` is false when the key is absent.
  absl::Status Get(int table, absl::string_view key, std::string* value, bool* found) const;

  // Calls fn(key, value) for every key starting with `prefix`, in key order,
  // until fn returns false. `bulk`: a scan of much of the table (a changelog
  // snapshot) whose blocks are not kept in the block cache, so that it does
  // not evict the blocks that point reads use (RocksDB's fill_cache).
  absl::Status Scan(int table, absl::string_view prefix,
                    absl::FunctionRef<bool(absl::string_view, absl::string_view)> fn,
                    bool bulk = false) const;

  // Writes collected for one atomic commit. Create with NewBatch(); valid
  // while the directory is open. Not thread-safe.
  class Batch {
   public:
    ~Batch();
    void Put(int table, absl::string_view key, absl::string_view value);
    void Delete(int table, absl::string_view key);
    // Deletes keys in [begin, end).
    void DeleteRange(int table, absl::string_view begin, absl::string_view end);
    void PutMeta(absl::string_view key, absl::string_view value);
    size_t operations() const { return operations_; }
    size_t bytes() const;

    // A table write (for writers of a changelog). For kDeleteRange, `value`
    // is the range's end. Views into the batch.
    struct Op {
      enum Kind : uint8_t { kPut, kDelete, kDeleteRange } kind = kPut;
      int table = 0;
      absl::string_view key;
      absl::string_view value;
    };
    // Calls fn for each table write, in the order written (meta writes are
    // left out), read back from the batch itself: no copy is kept. Stops at
    // fn's first error and returns it.
    absl::Status ForEachOp(absl::FunctionRef<absl::Status(const Op&)> fn) const;

   private:
    friend class StateDirectory;
    Batch(const StateDirectory* dir, size_t reserve);
    const StateDirectory* dir_;
    std::unique_ptr<rocksdb::WriteBatch> batch_;
    size_t operations_ = 0;
  };

  // `reserve_bytes`: room to allocate at once (a checkpoint passes about the
  // last one's size, so that its buffer does not double, holding both
  // copies, as it grows).
  std::unique_ptr<Batch> NewBatch(size_t reserve_bytes = 0) const;

  // Applies `batch` atomically and durably (synced).
  absl::Status Commit(Batch& batch);

  // The value of a meta key, or nullopt.
  absl::StatusOr<std::optional<std::string>> GetMeta(absl::string_view key) const;

  // Approximate on-disk and in-memory size reported by RocksDB (for tests
  // and metrics).
  uint64_t ApproximateLiveBytes() const;

  // RocksDB's memory outside the keyed-state caches (for metrics): its
  // memtables, its table readers (index and filter blocks, which grow with
  // the keys stored) and its block cache's usage.
  struct RocksMemory {
    uint64_t memtables = 0;
    uint64_t table_readers = 0;
    uint64_t block_cache = 0;
  };
  RocksMemory Memory() const;

  // Flushes memtables and compacts every table (tests use it to check what
  // is really stored).
  absl::Status CompactAll();

 private:
  StateDirectory() = default;
  absl::Status ToStatus(const void* rocksdb_status, absl::string_view what) const;

  std::string path_;
  size_t cache_budget_ = 0;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<std::string> table_names_;
  std::vector<rocksdb::ColumnFamilyHandle*> tables_;  // index = table id
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // every open handle, for closing
  struct RocksOptions;
  std::unique_ptr<RocksOptions> options_;
};

}  // namespace eddy

#endif  // EDDY_STATE_STATE_DIRECTORY_H_
