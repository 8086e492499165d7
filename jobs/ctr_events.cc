#include "jobs/ctr_events.h"

#include "absl/strings/str_cat.h"
#include "connectors/json_reader.h"
#include "engine/json_writer.h"
#include "engine/status_macros.h"

namespace eddy::ctr {
namespace {

// Fields seen, as bits.
enum Field : uint32_t {
  kType = 1 << 0,
  kTs = 1 << 1,
  kUser = 1 << 2,
  kTrack = 1 << 3,
  kArtist = 1 << 4,
  kGenre = 1 << 5,
  kMsPlayed = 1 << 6,
  kImp = 1 << 7,
  kAd = 1 << 8,
  kAdvertiser = 1 << 9,
  kCategory = 1 << 10,
  kSlot = 1 << 11,
  kDevice = 1 << 12,
};

struct Required {
  uint32_t field;
  const char* name;
};

constexpr Required kCommon[] = {{kTs, "ts"}, {kUser, "user"}};
constexpr Required kListenFields[] = {
    {kTrack, "track"}, {kArtist, "artist"}, {kGenre, "genre"}, {kMsPlayed, "ms_played"}};
constexpr Required kImpressionFields[] = {{kImp, "imp"},           {kAd, "ad"},
                                          {kAdvertiser, "advertiser"}, {kCategory, "category"},
                                          {kSlot, "slot"},         {kDevice, "device"}};
constexpr Required kClickFields[] = {{kImp, "imp"}};

template <size_t N>
absl::Status Check(uint32_t seen, const Required (&fields)[N]) {
  for (const Required& r : fields) {
    if (!(seen & r.field)) return absl::InvalidArgumentError(absl::StrCat("missing field '", r.name, "'"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Event> ParseEvent(absl::string_view record) {
  Event e;
  uint32_t seen = 0;
  std::string type;
  absl::Status status = ParseJsonObject(record, [&](absl::string_view key, JsonValue& v) {
    if (key == "type") return seen |= kType, v.GetString(type);
    if (key == "ts") return seen |= kTs, v.GetInt(e.ts);
    if (key == "user") return seen |= kUser, v.GetString(e.user);
    if (key == "track") return seen |= kTrack, v.GetString(e.track);
    if (key == "artist") return seen |= kArtist, v.GetString(e.artist);
    if (key == "genre") return seen |= kGenre, v.GetString(e.genre);
    if (key == "ms_played") return seen |= kMsPlayed, v.GetInt(e.ms_played);
    if (key == "imp") return seen |= kImp, v.GetString(e.imp);
    if (key == "ad") return seen |= kAd, v.GetString(e.ad);
    if (key == "advertiser") return seen |= kAdvertiser, v.GetString(e.advertiser);
    if (key == "category") return seen |= kCategory, v.GetString(e.category);
    if (key == "slot") return seen |= kSlot, v.GetString(e.slot);
    if (key == "device") return seen |= kDevice, v.GetString(e.device);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!(seen & kType)) return absl::InvalidArgumentError("missing field 'type'");
  if (type == "listen") {
    e.type = Event::kListen;
  } else if (type == "impression") {
    e.type = Event::kImpression;
  } else if (type == "click") {
    e.type = Event::kClick;
  } else {
    std::string shown;
    AppendJsonString(shown, type.substr(0, 40));
    return absl::InvalidArgumentError(absl::StrCat("unknown event type ", shown));
  }
  EDDY_RETURN_IF_ERROR(Check(seen, kCommon));
  if (e.user.empty()) return absl::InvalidArgumentError("field 'user': empty");
  switch (e.type) {
    case Event::kListen:
      EDDY_RETURN_IF_ERROR(Check(seen, kListenFields));
      if (e.ms_played < 0) return absl::InvalidArgumentError("field 'ms_played': negative");
      break;
    case Event::kImpression:
      EDDY_RETURN_IF_ERROR(Check(seen, kImpressionFields));
      if (e.imp.empty()) return absl::InvalidArgumentError("field 'imp': empty");
      if (e.ad.empty()) return absl::InvalidArgumentError("field 'ad': empty");
      break;
    default:
      EDDY_RETURN_IF_ERROR(Check(seen, kClickFields));
      if (e.imp.empty()) return absl::InvalidArgumentError("field 'imp': empty");
  }
  return e;
}

void AppendEventJson(const Event& e, std::string& out) {
  JsonObjectWriter w(out);
  switch (e.type) {
    case Event::kListen:
      w.Field("type", "listen")
          .Field("ts", e.ts)
          .Field("user", e.user)
          .Field("track", e.track)
          .Field("artist", e.artist)
          .Field("genre", e.genre)
          .Field("ms_played", e.ms_played);
      break;
    case Event::kImpression:
      w.Field("type", "impression")
          .Field("ts", e.ts)
          .Field("user", e.user)
          .Field("imp", e.imp)
          .Field("ad", e.ad)
          .Field("advertiser", e.advertiser)
          .Field("category", e.category)
          .Field("slot", e.slot)
          .Field("device", e.device);
      break;
    default:
      w.Field("type", "click").Field("ts", e.ts).Field("user", e.user).Field("imp", e.imp);
  }
  w.Close();
}

}  // namespace eddy::ctr
