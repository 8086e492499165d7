#include "engine/watermark_tracker.h"

#include <algorithm>
#include <tuple>

#include "state/codec.h"

namespace eddy {

int WatermarkTracker::AddPartition(int64_t bound_ms, int64_t idle_timeout_ms) {
  Partition part;
  part.bound_ms = std::max<int64_t>(0, bound_ms);
  part.idle_timeout_ms = idle_timeout_ms;
  parts_.push_back(part);
  return static_cast<int>(parts_.size()) - 1;
}

void WatermarkTracker::Observe(int p, EventTime max_ts, int64_t now) {
  Partition& part = parts_[p];
  part.max_ts = std::max(part.max_ts, max_ts);
  part.last_active = now;
  if (first_now_ == kMinEventTime) first_now_ = now;
}

void WatermarkTracker::RaiseWatermark(int p, EventTime watermark) {
  if (watermark == kMinEventTime) return;
  Partition& part = parts_[p];
  // The max_ts whose watermark (max_ts - bound - 1) is `watermark`, saturating.
  const EventTime max_ts = watermark > kMaxEventTime - part.bound_ms - 1
                               ? kMaxEventTime
                               : watermark + part.bound_ms + 1;
  part.max_ts = std::max(part.max_ts, max_ts);
}

void WatermarkTracker::MarkFinished(int p) { parts_[p].finished = true; }

void WatermarkTracker::SetAssigned(int p, bool assigned, int64_t now) {
  Partition& part = parts_[p];
  if (assigned && !part.assigned) {
    part.last_active = now;  // its idle time starts afresh
    part.promised = kMinEventTime;  // promises were its previous owner's to keep
  }
  part.assigned = assigned;
}

EventTime WatermarkTracker::PartitionWatermark(const Partition& part) {
  if (part.max_ts == kMinEventTime) return kMinEventTime;
  // Saturating: max_ts - bound - 1 without overflow near kMinEventTime.
  if (part.max_ts < kMinEventTime + part.bound_ms + 1) return kMinEventTime;
  return part.max_ts - part.bound_ms - 1;
}

bool WatermarkTracker::IsIdle(int p, int64_t now) const {
  const Partition& part = parts_[p];
  if (part.finished || part.idle_timeout_ms <= 0) return false;
  // A partition that never produced counts its silence from the first clock
  // reading the tracker saw.
  const int64_t since = part.last_active != kMinEventTime ? part.last_active : first_now_;
  if (since == kMinEventTime || now == kMinEventTime) return false;
  return now - since >= part.idle_timeout_ms;
}

EventTime WatermarkTracker::Advance(int64_t now) {
  if (first_now_ == kMinEventTime) first_now_ = now;
  bool any_unfinished = false;
  bool any_active = false;
  EventTime min_wm = kMaxEventTime;
  for (int p = 0; p < partitions(); ++p) {
    const Partition& part = parts_[p];
    if (part.finished) continue;
    any_unfinished = true;
    if (!part.assigned || IsIdle(p, now)) continue;
    any_active = true;
    min_wm = std::min(min_wm, PartitionWatermark(part));
  }
  if (!any_unfinished) {
    current_ = kMaxEventTime;
  } else if (any_active) {
    current_ = std::max(current_, min_wm);
  }
  return current_;
}

void WatermarkTracker::AssignedWatermarks(
    int64_t now, std::vector<std::pair<uint32_t, EventTime>>& out) {
  out.clear();
  for (int p = 0; p < partitions(); ++p) {
    Partition& part = parts_[p];
    if (!part.finished && !part.assigned) continue;
    EventTime w = kMaxEventTime;
    if (!part.finished) {
      w = IsIdle(p, now) ? std::max(current_, PartitionWatermark(part)) : PartitionWatermark(part);
      part.promised = std::max(part.promised, w);
    }
    out.emplace_back(static_cast<uint32_t>(p), w);
  }
}

std::string WatermarkTracker::Save() const {
  std::vector<std::tuple<int64_t, int64_t, bool>> parts;
  for (const Partition& p : parts_) parts.emplace_back(p.max_ts, p.last_active, p.finished);
  std::string out;
  EncodeTo(parts, out);
  EncodeTo(current_, out);
  EncodeTo(first_now_, out);
  return out;
}

bool WatermarkTracker::Restore(absl::string_view saved) {
  std::vector<std::tuple<int64_t, int64_t, bool>> parts;
  if (!DecodeFrom(saved, parts) || !DecodeFrom(saved, current_) ||
      !DecodeFrom(saved, first_now_) || !saved.empty() || parts.size() != parts_.size()) {
    return false;
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    std::tie(parts_[i].max_ts, parts_[i].last_active, parts_[i].finished) = parts[i];
  }
  return true;
}

}  // namespace eddy
