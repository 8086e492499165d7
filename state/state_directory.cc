#include "state/state_directory.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "rocksdb/write_buffer_manager.h"

namespace eddy {
namespace {

constexpr char kFormatKey[] = "eddy.format";
constexpr char kJobKey[] = "eddy.job";

bool AllDigits(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Files RocksDB leaves when it is stopped while creating a database, before
// it writes CURRENT: the lock, the info log, the identity, the first
// manifest and temporary files. Anything else (tables, write-ahead logs,
// options files) means a real database that lost CURRENT, or a stranger's.
bool IsCreationLeftover(const std::string& name) {
  const absl::string_view n = name;
  if (n == "LOCK" || n == "IDENTITY" || n == "LOG") return true;
  if (absl::StartsWith(n, "LOG.old.") && AllDigits(n.substr(8))) return true;
  if (absl::StartsWith(n, "MANIFEST-") && AllDigits(n.substr(9))) return true;
  if (absl::EndsWith(n, ".dbtmp") && AllDigits(n.substr(0, n.size() - 6))) return true;
  return false;
}

// True if another process holds RocksDB's lock on `path`/LOCK (an fcntl
// lock, as RocksDB takes it).
bool LockHeldElsewhere(const std::string& path) {
  const int fd = ::open((path + "/LOCK").c_str(), O_RDWR);
  if (fd < 0) return false;
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  const bool held = ::fcntl(fd, F_SETLK, &fl) != 0;
  ::close(fd);  // releases our lock if we got it
  return held;
}
}  // namespace

struct StateDirectory::RocksOptions {
  rocksdb::DBOptions db;
  rocksdb::ColumnFamilyOptions cf;
  std::shared_ptr<rocksdb::Cache> block_cache;
};

// The one place RocksDB statuses become absl::Status.
absl::Status StateDirectory::ToStatus(const void* raw, absl::string_view what) const {
  const rocksdb::Status& s = *static_cast<const rocksdb::Status*>(raw);
  if (s.ok()) return absl::OkStatus();
  const std::string msg = absl::StrCat("state directory ", path_, ": ", what, ": ", s.ToString());
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsIOError()) return absl::UnavailableError(msg);
  return absl::InternalError(msg);
}

absl::StatusOr<std::unique_ptr<StateDirectory>> StateDirectory::Open(const Options& options) {
  std::unique_ptr<StateDirectory> dir(new StateDirectory());
  dir->path_ = options.path;
  const std::string& path = options.path;
  if (path.empty()) return absl::InvalidArgumentError("empty state directory path");

  std::error_code ec;
  const bool exists = std::filesystem::exists(path, ec);
  if (exists && !std::filesystem::is_directory(path, ec)) {
    return absl::FailedPreconditionError(absl::StrCat("state directory ", path, " is not a directory"));
  }
  const bool has_db = std::filesystem::exists(path + "/CURRENT", ec);
  if (exists && !has_db && !std::filesystem::is_empty(path, ec)) {
    // RocksDB writes CURRENT last when it creates a database: a directory
    // holding only RocksDB's own files and no CURRENT is a creation that was
    // interrupted (a crash before the first checkpoint), with nothing
    // committed. Anything else is someone else's directory.
    std::vector<std::filesystem::path> leftovers;
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      const std::string name = entry.path().filename().string();
      if (!IsCreationLeftover(name) || !entry.is_regular_file()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "state directory ", path, " has no RocksDB CURRENT file but holds ", name,
            ": not Eddy state, or a damaged database (repair it with RocksDB's ldb, or remove it)"));
      }
      leftovers.push_back(entry.path());
    }
    if (LockHeldElsewhere(path)) {
      return absl::FailedPreconditionError(
          absl::StrCat("state directory ", path, " is in use by another process (lock held)"));
    }
    for (const auto& file : leftovers) std::filesystem::remove(file, ec);
  }
  if (!exists) {
    std::filesystem::create_directories(path, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot create state directory ", path, ": ", ec.message()));
    }
  }
  ::chmod(path.c_str(), 0700);

  dir->options_ = std::make_unique<RocksOptions>();
  RocksOptions& ro = *dir->options_;
  const size_t budget = std::max<size_t>(options.memory_budget_bytes, size_t{16} << 20);
  dir->cache_budget_ = budget / 2;
  ro.block_cache = rocksdb::NewLRUCache(budget / 4);
  ro.db.create_if_missing = true;
  ro.db.create_missing_column_families = true;
  // Memtables: a sixteenth of the budget in all, 4 MiB each at the default
  // 256 MiB. (A quarter, 32 MiB each, made a live CTR run's memtables swing
  // between 35 and 85 MiB as they filled and flushed; an eighth, 8 MiB each,
  // held ~20 MiB more in the soak: bench/RESULTS.md.)
  ro.db.write_buffer_manager = std::make_shared<rocksdb::WriteBufferManager>(budget / 16);
  ro.db.max_open_files = 512;
  ro.db.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  ro.db.keep_log_file_num = 2;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = ro.block_cache;
  // Index and filter blocks stay in the table readers (about 1.5 bytes per
  // key, outside the block cache): evicting them makes every miss read them
  // back from disk.
  table.cache_index_and_filter_blocks = false;
  // Most reads are cache misses for keys seen for the first time: a Bloom
  // filter answers "absent" without reading data blocks.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  ro.cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  ro.cf.write_buffer_size = std::min<size_t>(budget / 64, size_t{64} << 20);
  ro.cf.compression = rocksdb::kLZ4Compression;

  std::vector<std::string> families;
  if (has_db) {
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(ro.db, path, &families);
    if (!s.ok()) {
      if (absl::StrContains(s.ToString(), "lock")) {
        return absl::FailedPreconditionError(absl::StrCat(
            "state directory ", path, " is in use by another process (lock held)"));
      }
      return dir->ToStatus(&s, "cannot read its column families");
    }
  } else {
    families.push_back(rocksdb::kDefaultColumnFamilyName);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : families) descriptors.emplace_back(name, ro.cf);
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(ro.db, path, descriptors, &dir->handles_, &raw);
  if (!s.ok()) {
    if (s.IsIOError() && (absl::StrContains(s.ToString(), "lock") ||
                          absl::StrContains(s.ToString(), "Resource temporarily unavailable"))) {
      return absl::FailedPreconditionError(
          absl::StrCat("state directory ", path, " is in use by another process (lock held)"));
    }
    return dir->ToStatus(&s, "cannot open");
  }
  dir->db_.reset(raw);
  for (size_t i = 0; i < families.size(); ++i) {
    if (families[i] == rocksdb::kDefaultColumnFamilyName) continue;
    dir->table_names_.push_back(families[i]);
    dir->tables_.push_back(dir->handles_[i]);
  }

  // Who the directory belongs to, and in what format.
  absl::StatusOr<std::optional<std::string>> format = dir->GetMeta(kFormatKey);
  if (!format.ok()) return format.status();
  absl::StatusOr<std::optional<std::string>> job = dir->GetMeta(kJobKey);
  if (!job.ok()) return job.status();
  if (!format->has_value()) {
    bool default_empty = true;
    {
      std::unique_ptr<rocksdb::Iterator> it(dir->db_->NewIterator(rocksdb::ReadOptions()));
      it->SeekToFirst();
      default_empty = !it->Valid();
    }
    if (has_db && (!dir->table_names_.empty() || !default_empty)) {
      return absl::FailedPreconditionError(
          absl::StrCat("state directory ", path, " is a RocksDB database but not Eddy state"));
    }
    auto batch = dir->NewBatch();
    batch->PutMeta(kFormatKey, std::to_string(kFormatVersion));
    batch->PutMeta(kJobKey, options.job);
    absl::Status cs = dir->Commit(*batch);
    if (!cs.ok()) return cs;
  } else {
    if (**format != std::to_string(kFormatVersion)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "state directory ", path, " was written by an incompatible Eddy (format ", **format,
          "; this build reads format ", kFormatVersion, ")"));
    }
    if (!job->has_value() || **job != options.job) {
      return absl::FailedPreconditionError(
          absl::StrCat("state directory ", path, " belongs to job '", job->value_or("?"),
                       "', not '", options.job, "'"));
    }
  }
  return dir;
}

StateDirectory::~StateDirectory() {
  if (db_ != nullptr) {
    for (rocksdb::ColumnFamilyHandle* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close();
  }
}

absl::StatusOr<int> StateDirectory::Table(const std::string& name) {
  for (size_t i = 0; i < table_names_.size(); ++i) {
    if (table_names_[i] == name) return static_cast<int>(i);
  }
  rocksdb::ColumnFamilyHandle* handle = nullptr;
  rocksdb::Status s = db_->CreateColumnFamily(options_->cf, name, &handle);
  if (!s.ok()) return ToStatus(&s, absl::StrCat("cannot create table ", name));
  handles_.push_back(handle);
  table_names_.push_back(name);
  tables_.push_back(handle);
  return static_cast<int>(tables_.size()) - 1;
}

absl::Status StateDirectory::Get(int table, absl::string_view key, std::string* value,
                                 bool* found) const {
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), tables_[table],
                               rocksdb::Slice(key.data(), key.size()), value);
  if (s.IsNotFound()) {
    *found = false;
    return absl::OkStatus();
  }
  *found = s.ok();
  return ToStatus(&s, "read");
}

absl::Status StateDirectory::Scan(
    int table, absl::string_view prefix,
    absl::FunctionRef<bool(absl::string_view, absl::string_view)> fn, bool bulk) const {
  rocksdb::ReadOptions ro;
  ro.fill_cache = !bulk;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, tables_[table]));
  const rocksdb::Slice p(prefix.data(), prefix.size());
  for (it->Seek(p); it->Valid() && it->key().starts_with(p); it->Next()) {
    const rocksdb::Slice k = it->key();
    const rocksdb::Slice v = it->value();
    if (!fn(absl::string_view(k.data(), k.size()), absl::string_view(v.data(), v.size()))) break;
  }
  rocksdb::Status s = it->status();
  return ToStatus(&s, "scan");
}

StateDirectory::Batch::Batch(const StateDirectory* dir, size_t reserve)
    : dir_(dir), batch_(std::make_unique<rocksdb::WriteBatch>(reserve)) {}
StateDirectory::Batch::~Batch() = default;

void StateDirectory::Batch::Put(int table, absl::string_view key, absl::string_view value) {
  batch_->Put(dir_->tables_[table], rocksdb::Slice(key.data(), key.size()),
              rocksdb::Slice(value.data(), value.size()));
  ++operations_;
}

void StateDirectory::Batch::Delete(int table, absl::string_view key) {
  batch_->Delete(dir_->tables_[table], rocksdb::Slice(key.data(), key.size()));
  ++operations_;
}

void StateDirectory::Batch::DeleteRange(int table, absl::string_view begin, absl::string_view end) {
  batch_->DeleteRange(dir_->tables_[table], rocksdb::Slice(begin.data(), begin.size()),
                      rocksdb::Slice(end.data(), end.size()));
  ++operations_;
}

void StateDirectory::Batch::PutMeta(absl::string_view key, absl::string_view value) {
  batch_->Put(rocksdb::Slice(key.data(), key.size()), rocksdb::Slice(value.data(), value.size()));
  ++operations_;
}

size_t StateDirectory::Batch::bytes() const { return batch_->GetDataSize(); }

std::unique_ptr<StateDirectory::Batch> StateDirectory::NewBatch(size_t reserve_bytes) const {
  return std::unique_ptr<Batch>(new Batch(this, reserve_bytes));
}

absl::Status StateDirectory::Batch::ForEachOp(absl::FunctionRef<absl::Status(const Op&)> fn) const {
  // Column family ids to table ids (-1: the meta family).
  std::vector<int> table_of;
  for (size_t t = 0; t < dir_->tables_.size(); ++t) {
    const uint32_t id = dir_->tables_[t]->GetID();
    if (id >= table_of.size()) table_of.resize(id + 1, -1);
    table_of[id] = static_cast<int>(t);
  }
  struct Reader : rocksdb::WriteBatch::Handler {
    const std::vector<int>* table_of = nullptr;
    absl::FunctionRef<absl::Status(const Op&)>* fn = nullptr;
    absl::Status status;
    rocksdb::Status Call(Op::Kind kind, uint32_t cf, const rocksdb::Slice& key,
                         const rocksdb::Slice& value) {
      const int table = cf < table_of->size() ? (*table_of)[cf] : -1;
      if (table < 0) return rocksdb::Status::OK();  // a meta write
      Op op;
      op.kind = kind;
      op.table = table;
      op.key = absl::string_view(key.data(), key.size());
      op.value = absl::string_view(value.data(), value.size());
      status = (*fn)(op);
      return status.ok() ? rocksdb::Status::OK() : rocksdb::Status::Aborted();
    }
    rocksdb::Status PutCF(uint32_t cf, const rocksdb::Slice& key, const rocksdb::Slice& value) override {
      return Call(Op::kPut, cf, key, value);
    }
    rocksdb::Status DeleteCF(uint32_t cf, const rocksdb::Slice& key) override {
      return Call(Op::kDelete, cf, key, rocksdb::Slice());
    }
    rocksdb::Status DeleteRangeCF(uint32_t cf, const rocksdb::Slice& begin,
                                  const rocksdb::Slice& end) override {
      return Call(Op::kDeleteRange, cf, begin, end);
    }
  };
  Reader reader;
  reader.table_of = &table_of;
  reader.fn = &fn;
  rocksdb::Status s = batch_->Iterate(&reader);
  if (!reader.status.ok()) return reader.status;
  return dir_->ToStatus(&s, "reading a checkpoint batch");
}

absl::Status StateDirectory::Commit(Batch& batch) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status s = db_->Write(wo, batch.batch_.get());
  if (s.ok() || !(s.IsIOError() || s.IsIncomplete())) return ToStatus(&s, "checkpoint write");
  // A write error (a full disk, a failing device): RocksDB stops writing
  // until told to resume. One more attempt a second later, in case the
  // condition was passing; a batch is written whole or not at all, so the
  // retry cannot apply it twice. Then the caller stops the job: nothing of
  // the checkpoint counts, and its input positions are not committed.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  (void)db_->Resume();
  rocksdb::Status again = db_->Write(wo, batch.batch_.get());
  if (again.ok()) return absl::OkStatus();
  return ToStatus(&again, absl::StrCat("checkpoint write failed twice, a second apart (first: ",
                                       s.ToString(), ")"));
}

absl::StatusOr<std::optional<std::string>> StateDirectory::GetMeta(absl::string_view key) const {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return ToStatus(&s, "read");
  return std::optional<std::string>(std::move(value));
}

uint64_t StateDirectory::ApproximateLiveBytes() const {
  uint64_t total = 0;
  for (rocksdb::ColumnFamilyHandle* h : tables_) {
    uint64_t v = 0;
    if (db_->GetIntProperty(h, rocksdb::DB::Properties::kEstimateLiveDataSize, &v)) total += v;
    if (db_->GetIntProperty(h, rocksdb::DB::Properties::kCurSizeAllMemTables, &v)) total += v;
  }
  return total;
}

StateDirectory::RocksMemory StateDirectory::Memory() const {
  RocksMemory m;
  for (rocksdb::ColumnFamilyHandle* h : handles_) {  // the meta family too
    uint64_t v = 0;
    if (db_->GetIntProperty(h, rocksdb::DB::Properties::kCurSizeAllMemTables, &v)) m.memtables += v;
    if (db_->GetIntProperty(h, rocksdb::DB::Properties::kEstimateTableReadersMem, &v)) {
      m.table_readers += v;
    }
  }
  m.block_cache = options_->block_cache->GetUsage();
  return m;
}

absl::Status StateDirectory::CompactAll() {
  for (rocksdb::ColumnFamilyHandle* h : tables_) {
    rocksdb::Status s = db_->Flush(rocksdb::FlushOptions(), h);
    if (!s.ok()) return ToStatus(&s, "flush");
    s = db_->CompactRange(rocksdb::CompactRangeOptions(), h, nullptr, nullptr);
    if (!s.ok()) return ToStatus(&s, "compact");
  }
  return absl::OkStatus();
}

}  // namespace eddy
