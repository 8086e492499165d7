#include "engine/job_graph.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace eddy {

const char* NodeKindName(NodeKind kind) {
  switch (kind) {
    case NodeKind::kSource: return "source";
    case NodeKind::kMap: return "map";
    case NodeKind::kFilter: return "filter";
    case NodeKind::kFlatMap: return "flat_map";
    case NodeKind::kKeyBy: return "key_by";
    case NodeKind::kProcess: return "process";
    case NodeKind::kUnion: return "union";
    case NodeKind::kSink: return "sink";
  }
  return "unknown";
}

std::string JobGraph::Describe() const {
  std::string out;
  for (const auto& node : nodes_) {
    absl::StrAppend(&out, NodeKindName(node->kind()), " ", node->name());
    if (!node->inputs().empty()) {
      absl::StrAppend(&out, " <- ",
                      absl::StrJoin(node->inputs(), ", ", [](std::string* s, const Node* in) {
                        s->append(in->name());
                      }));
    }
    out.push_back('\n');
  }
  return out;
}

}  // namespace eddy
