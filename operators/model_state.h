// The model as keyed state (ModelBox), checkpointed in parts.
//
// Written whole, a model is rewritten at every checkpoint: the CTR job's
// FTRL model of 2^20 weights is 8 MiB, while the ~6 s between two
// checkpoints of a 10,000 events/s stream touch a few percent of its rows
// (hashed features: spread over all of it, so no page is left untouched;
// what is small is the set of rows). So a checkpoint writes (state/parted.h):
//   - the head: the model file's header (options, version) and the
//     bookkeeping below;
//   - a delta ("d" + checkpoint number): the rows changed since the last
//     checkpoint, each with its parameters;
//   - pages ("p" + page number, kPageRows rows each) in rotation: each
//     checkpoint rewrites the next 1/kRotation of them, so every page is
//     rewritten every kRotation checkpoints, and a delta is deleted once
//     every page has been rewritten since it (no row's latest value is
//     older than its page then).
// The first checkpoint of a model writes every page. Reading applies, page
// by page, the deltas newer than the page. A checkpoint's batch is then
// about the model / kRotation plus the changed rows, and the state holds
// at most kRotation deltas besides the pages. (The same idea as a
// database's fuzzy checkpoint: log the changes, flush the pages in turn.)
//
// Formats (little-endian; the numbers in part names big-endian, so parts
// sort by them):
//   head     model file header (operators/model_file.h, 120 bytes)
//            u64 checkpoint number, u32 next page of the rotation,
//            u32 rows per page, u32 deltas held, u64 XXH3-64 of the bytes
//            before it
//   "p" u32  u64 checkpoint that wrote it, the page's rows' parameters
//            (floats), u64 XXH3-64
//   "d" u64  u32 row count, then per row: u32 row, its parameters
//            (floats); u64 XXH3-64
// An empty head: a box without a model.
#ifndef EDDY_OPERATORS_MODEL_STATE_H_
#define EDDY_OPERATORS_MODEL_STATE_H_

#include <xxhash.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "operators/learners.h"
#include "state/codec.h"
#include "state/parted.h"
#include "state/state_directory.h"

namespace eddy {

// The model as keyed state. Shared, so that a job can keep a reference to
// the live model for the end of its run.
// A model belongs to one box: its change tracking serves one key's
// checkpoints. A copy of a box shares the model but not the bookkeeping
// (it is written whole the first time).
struct ModelBox {
  ModelBox() = default;
  ModelBox(const ModelBox& other) : model(other.model) {}
  ModelBox& operator=(const ModelBox& other) {
    if (this != &other) *this = ModelBox(other);
    return *this;
  }
  ModelBox(ModelBox&&) noexcept = default;
  ModelBox& operator=(ModelBox&&) noexcept = default;

  std::shared_ptr<Model> model;
  // What the state directory holds of `model` (PartedCodec<ModelBox>).
  std::weak_ptr<const Model> written;  // the model whose parts it holds (none: nothing yet)
  uint64_t checkpoint = 0;         // the last checkpoint written
  uint32_t next_page = 0;          // where the rotation goes on
  std::vector<uint64_t> page_checkpoint;  // per page: the checkpoint that wrote it
  std::vector<uint64_t> deltas;    // the checkpoints whose deltas it holds, oldest first
};

// The whole model as one value: the model file (for tests and tools; state
// directories use PartedCodec below).
template <>
struct Codec<ModelBox> {
  static constexpr bool kDefined = true;
  static void Encode(const ModelBox& box, std::string& out) {
    EncodeTo(box.model == nullptr ? std::string() : box.model->Serialize(), out);
  }
  static bool Decode(absl::string_view& in, ModelBox& box) {
    std::string bytes;
    if (!DecodeFrom(in, bytes)) return false;
    box = ModelBox();
    if (bytes.empty()) return true;
    absl::StatusOr<std::unique_ptr<Model>> m = ParseModel(bytes);
    if (!m.ok()) return false;
    box.model = *std::move(m);
    return true;
  }
};

namespace model_state_internal {

inline constexpr uint32_t kPageRows = 4096;
inline constexpr uint32_t kRotation = 16;
inline constexpr size_t kHeadBytes = model_file_internal::kHeaderBytes + 8 + 4 + 4 + 4 + 8;

using model_file_internal::Get;
using model_file_internal::Put;

inline std::string PageName(uint64_t page) {
  std::string s = "p";
  AppendBigEndian(page, 4, s);
  return s;
}
inline std::string DeltaName(uint64_t checkpoint) {
  std::string s = "d";
  AppendBigEndian(checkpoint, 8, s);
  return s;
}
inline void Seal(std::string& out) { Put<uint64_t>(out, XXH3_64bits(out.data(), out.size())); }
inline bool Sealed(absl::string_view bytes) {
  return bytes.size() >= 8 &&
         XXH3_64bits(bytes.data(), bytes.size() - 8) == Get<uint64_t>(bytes, bytes.size() - 8);
}

}  // namespace model_state_internal

template <>
struct PartedCodec<ModelBox> {
  static constexpr bool kDefined = true;

  static void WriteChanges(ModelBox& box, PartWriter& w, bool everything) {
    using namespace model_state_internal;
    if (box.model == nullptr) {
      w.DeleteAllParts();
      w.PutHead("");
      box.written.reset();
      return;
    }
    Model& m = *box.model;
    const std::vector<float>& params = m.params();
    const size_t stride = m.row_stride();
    const uint64_t rows = m.rows();
    const uint64_t pages = (rows + kPageRows - 1) / kPageRows;
    std::string bytes;
    const auto write_page = [&](uint64_t page, uint64_t checkpoint) {
      const uint64_t first = page * kPageRows;
      const uint64_t n = std::min<uint64_t>(kPageRows, rows - first);
      bytes.clear();
      Put<uint64_t>(bytes, checkpoint);
      bytes.append(reinterpret_cast<const char*>(params.data() + first * stride), 4 * n * stride);
      Seal(bytes);
      w.PutPart(PageName(page), bytes);
      box.page_checkpoint[page] = checkpoint;
    };
    const bool same = !box.written.owner_before(box.model) && !box.model.owner_before(box.written) &&
                      !box.written.expired();
    if (!same || everything || box.page_checkpoint.size() != pages) {
      // A model new to the state (or one replaced in its box): all of it.
      if (!everything) w.DeleteAllParts();
      m.TrackChanges();
      (void)m.TakeChangedRows();
      box.written = box.model;
      box.checkpoint = 1;
      box.next_page = 0;
      box.page_checkpoint.assign(pages, 0);
      box.deltas.clear();
      for (uint64_t p = 0; p < pages; ++p) write_page(p, 1);
    } else {
      const uint64_t now = ++box.checkpoint;
      const uint64_t turn = (pages + kRotation - 1) / kRotation;
      for (uint64_t i = 0; i < turn; ++i) write_page((box.next_page + i) % pages, now);
      box.next_page = static_cast<uint32_t>((box.next_page + turn) % pages);
      std::vector<uint32_t> changed = m.TakeChangedRows();
      changed.erase(std::remove_if(changed.begin(), changed.end(),
                                   [&](uint32_t r) {
                                     return box.page_checkpoint[r / kPageRows] == now;
                                   }),
                    changed.end());
      if (!changed.empty()) {
        std::sort(changed.begin(), changed.end());
        bytes.clear();
        bytes.reserve(4 + changed.size() * (4 + 4 * stride) + 8);
        Put<uint32_t>(bytes, static_cast<uint32_t>(changed.size()));
        for (uint32_t r : changed) {
          Put<uint32_t>(bytes, r);
          bytes.append(reinterpret_cast<const char*>(params.data() + size_t{r} * stride), 4 * stride);
        }
        Seal(bytes);
        w.PutPart(DeltaName(now), bytes);
        box.deltas.push_back(now);
      }
      // Deltas no page needs any more: every page was written at or after them.
      const uint64_t oldest = *std::min_element(box.page_checkpoint.begin(), box.page_checkpoint.end());
      while (!box.deltas.empty() && box.deltas.front() <= oldest) {
        w.DeletePart(DeltaName(box.deltas.front()));
        box.deltas.erase(box.deltas.begin());
      }
    }
    bytes.clear();
    AppendModelHeader(m, bytes);
    Put<uint64_t>(bytes, box.checkpoint);
    Put<uint32_t>(bytes, box.next_page);
    Put<uint32_t>(bytes, kPageRows);
    Put<uint32_t>(bytes, static_cast<uint32_t>(box.deltas.size()));  // a lost delta is an error
    Seal(bytes);
    w.PutHead(bytes);
  }

  static bool Read(absl::string_view head, const std::vector<Part>& parts, ModelBox& box) {
    using namespace model_state_internal;
    box = ModelBox();
    if (head.empty()) return parts.empty();
    if (head.size() != kHeadBytes || !Sealed(head)) return false;
    // The pages must hold the parameters the header counts, before a model
    // of that size is allocated (a forged header must not allocate
    // gigabytes).
    uint64_t page_bytes = 0;
    for (const Part& part : parts) {
      if (!part.suffix.empty() && part.suffix[0] == 'p') page_bytes += part.bytes.size() - std::min<size_t>(16, part.bytes.size());
    }
    if (page_bytes != 4 * Get<uint64_t>(head, 112)) return false;
    absl::StatusOr<std::unique_ptr<Model>> parsed =
        ParseModelHeader(head.substr(0, model_file_internal::kHeaderBytes));
    if (!parsed.ok()) return false;
    std::shared_ptr<Model> m = *std::move(parsed);
    const size_t at = model_file_internal::kHeaderBytes;
    const uint64_t checkpoint = Get<uint64_t>(head, at);
    const uint32_t next_page = Get<uint32_t>(head, at + 8);
    if (Get<uint32_t>(head, at + 12) != kPageRows) return false;
    const uint32_t delta_count = Get<uint32_t>(head, at + 16);
    const size_t stride = m->row_stride();
    const uint64_t rows = m->rows();
    const uint64_t pages = (rows + kPageRows - 1) / kPageRows;
    if (checkpoint == 0 || next_page >= pages) return false;
    std::vector<float>& params = *m->mutable_params();
    std::vector<uint64_t> page_checkpoint(pages, 0);
    // Pages ("p") first, then deltas ("d", oldest first) over the pages
    // older than them.
    for (const Part& part : parts) {
      if (part.suffix.empty() || part.suffix[0] != 'p') continue;
      if (part.suffix.size() != 5) return false;
      const uint64_t page = ReadBigEndian(absl::string_view(part.suffix).substr(1));
      if (page >= pages) return false;
      const uint64_t n = std::min<uint64_t>(kPageRows, rows - page * kPageRows);
      if (part.bytes.size() != 8 + 4 * n * stride + 8 || !Sealed(part.bytes)) return false;
      page_checkpoint[page] = Get<uint64_t>(part.bytes, 0);
      if (page_checkpoint[page] == 0 || page_checkpoint[page] > checkpoint) return false;
      std::memcpy(params.data() + page * kPageRows * stride, part.bytes.data() + 8, 4 * n * stride);
    }
    if (std::count(page_checkpoint.begin(), page_checkpoint.end(), 0) > 0) return false;
    std::vector<uint64_t> deltas;
    for (const Part& part : parts) {
      if (part.suffix.empty() || part.suffix[0] == 'p') continue;
      if (part.suffix.size() != 9 || part.suffix[0] != 'd') return false;
      const uint64_t at_checkpoint = ReadBigEndian(absl::string_view(part.suffix).substr(1));
      if (at_checkpoint > checkpoint || part.bytes.size() < 12 || !Sealed(part.bytes)) return false;
      const uint64_t count = Get<uint32_t>(part.bytes, 0);
      const size_t row_bytes = 4 + 4 * stride;
      if (part.bytes.size() != 4 + count * row_bytes + 8) return false;
      for (uint64_t i = 0; i < count; ++i) {
        const size_t off = 4 + i * row_bytes;
        const uint32_t r = Get<uint32_t>(part.bytes, off);
        if (r >= rows) return false;
        if (page_checkpoint[r / kPageRows] >= at_checkpoint) continue;  // the page is newer
        std::memcpy(params.data() + size_t{r} * stride, part.bytes.data() + off + 4, 4 * stride);
      }
      deltas.push_back(at_checkpoint);
    }
    if (deltas.size() != delta_count) return false;
    m->TrackChanges();
    box.model = std::move(m);
    box.written = box.model;
    box.checkpoint = checkpoint;
    box.next_page = next_page;
    box.page_checkpoint = std::move(page_checkpoint);
    box.deltas = std::move(deltas);
    return true;
  }

  static size_t HeapBytes(const ModelBox& box) {
    return (box.model == nullptr ? 0 : box.model->heap_bytes()) +
           8 * (box.page_checkpoint.capacity() + box.deltas.capacity());
  }
};

}  // namespace eddy

#endif  // EDDY_OPERATORS_MODEL_STATE_H_
