// Exchanges that cross processes: how a KeyBy re-keys a stream when several
// processes share a job.
//
// In one process, KeyBy hands each record to the task that owns its key group
// (operators/key_by_node.h). When the job runs as several processes (`eddy
// run` in a consumer group), the key group's owner may be another process:
// KeyBy then sends every record, encoded with its eddy::Codec, through a
// RemoteExchange (a Kafka repartition topic, connectors/kafka_exchange.h),
// and its output is what arrived for the key groups this process owns.
//
// Thread-safety: used by the executor's coordinating thread only.
#ifndef EDDY_ENGINE_EXCHANGE_H_
#define EDDY_ENGINE_EXCHANGE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "engine/record.h"

namespace eddy {

class RemoteExchange {
 public:
  // A record that arrived for this process: its event time, its encoded
  // value, and where it came from (for errors).
  struct Arrival {
    EventTime ts = 0;
    absl::string_view value;
    absl::string_view partition;
    uint64_t offset = 0;
  };

  virtual ~RemoteExchange() = default;

  // Sends one record to the owner of `key_group`. Delivery happens in the
  // background; a failed delivery surfaces as an error of a later call.
  virtual absl::Status Send(uint32_t key_group, EventTime ts, absl::string_view value) = 0;

  // The records that arrived for this process in the current batch (read
  // before the operators run); valid until the next batch.
  virtual const std::vector<Arrival>& arrivals() const = 0;
};

}  // namespace eddy

#endif  // EDDY_ENGINE_EXCHANGE_H_
