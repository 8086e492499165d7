// The model file: what `--model-out` writes and `--model-in` reads, and what
// checkpoints hold of a model. Little-endian throughout:
//
//   offset  bytes  field
//   0       8      magic "EDDYMODL"
//   8       4      format version (1)
//   12      4      model kind: 1 FTRL, 2 AdaGrad SGD, 3 factorization machine
//   16      4      bits (the model has 2^bits weights, plus a bias)
//   20      4      factors (factorization machine; 0 for the others)
//   24      8      model version (updates so far)
//   32      72     alpha, beta, l1, l2, learning_rate, sgd_l2, init_stddev,
//                  fm_learning_rate, fm_l2 (IEEE double each)
//   104     8      seed
//   112     8      n, the number of parameters
//   120     4n     the parameters (IEEE float), in the model's own layout
//   120+4n  8      XXH3-64 of every byte before it
//
// The parameters are everything learning needs to go on exactly where it
// stopped (FTRL's z and n, AdaGrad's sums of squared gradients), so a
// warm-started model continues bit for bit as if never stopped.
#ifndef EDDY_OPERATORS_MODEL_FILE_H_
#define EDDY_OPERATORS_MODEL_FILE_H_

#include <xxhash.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "engine/status_macros.h"
#include "operators/learners.h"

namespace eddy {

namespace model_file_internal {

inline constexpr char kMagic[8] = {'E', 'D', 'D', 'Y', 'M', 'O', 'D', 'L'};
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kHeaderBytes = 120;

template <typename T>
void Put(std::string& out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));  // x86-64 and arm64 are little-endian
  out.append(buf, sizeof(T));
}
template <typename T>
T Get(absl::string_view bytes, size_t at) {
  T v;
  std::memcpy(&v, bytes.data() + at, sizeof(T));
  return v;
}

}  // namespace model_file_internal

inline const char* ModelKindName(ModelKind kind) {
  switch (kind) {
    case ModelKind::kFtrl:
      return "ftrl";
    case ModelKind::kSgd:
      return "sgd";
    case ModelKind::kFm:
      return "fm";
  }
  return "unknown";
}

inline absl::StatusOr<ModelKind> ParseModelKind(absl::string_view name) {
  if (name == "ftrl") return ModelKind::kFtrl;
  if (name == "sgd") return ModelKind::kSgd;
  if (name == "fm") return ModelKind::kFm;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown model '", name, "' (expected ftrl, sgd or fm)"));
}

inline absl::StatusOr<std::unique_ptr<Model>> MakeModel(ModelKind kind, const ModelOptions& o) {
  if (o.bits < 1 || o.bits > 28) {
    return absl::InvalidArgumentError(absl::StrCat("model bits must be 1..28, not ", o.bits));
  }
  auto positive = [](double v) { return std::isfinite(v) && v > 0; };
  auto non_negative = [](double v) { return std::isfinite(v) && v >= 0; };
  if (!positive(o.alpha) || !non_negative(o.beta) || !non_negative(o.l1) || !non_negative(o.l2) ||
      !positive(o.learning_rate) || !non_negative(o.sgd_l2) || !non_negative(o.init_stddev) ||
      !positive(o.fm_learning_rate) || !non_negative(o.fm_l2)) {
    return absl::InvalidArgumentError(
        "model hyperparameters must be finite, alpha and learning rate > 0, the others >= 0");
  }
  switch (kind) {
    case ModelKind::kFtrl:
      return std::unique_ptr<Model>(new FtrlModel(o));
    case ModelKind::kSgd:
      return std::unique_ptr<Model>(new SgdModel(o));
    case ModelKind::kFm:
      if (o.factors < 1 || o.factors > FmModel::kMaxFactors) {
        return absl::InvalidArgumentError(absl::StrCat(
            "factorization machine factors must be 1..", FmModel::kMaxFactors, ", not ", o.factors));
      }
      return std::unique_ptr<Model>(new FmModel(o));
  }
  return absl::InvalidArgumentError("unknown model kind");
}

// Appends the model file's header (its first kHeaderBytes: everything but
// the parameters and the checksum) for `m`.
inline void AppendModelHeader(const Model& m, std::string& out) {
  using model_file_internal::Put;
  const ModelOptions& o = m.options();
  out.append(model_file_internal::kMagic, 8);
  Put<uint32_t>(out, model_file_internal::kFormatVersion);
  Put<uint32_t>(out, static_cast<uint32_t>(m.kind()));
  Put<uint32_t>(out, static_cast<uint32_t>(o.bits));
  Put<uint32_t>(out, m.kind() == ModelKind::kFm ? static_cast<uint32_t>(o.factors) : 0);
  Put<uint64_t>(out, m.version());
  for (double v : {o.alpha, o.beta, o.l1, o.l2, o.learning_rate, o.sgd_l2, o.init_stddev,
                   o.fm_learning_rate, o.fm_l2}) {
    Put<double>(out, v);
  }
  Put<uint64_t>(out, o.seed);
  Put<uint64_t>(out, m.params().size());
}

inline std::string Model::Serialize() const {
  const std::vector<float>& p = params();
  std::string out;
  out.reserve(model_file_internal::kHeaderBytes + 4 * p.size() + 8);
  AppendModelHeader(*this, out);
  out.append(reinterpret_cast<const char*>(p.data()), 4 * p.size());
  model_file_internal::Put<uint64_t>(out, XXH3_64bits(out.data(), out.size()));
  return out;
}

// A model from a model file's header (kHeaderBytes): its kind, options and
// version, with the parameters a new model of them has (MakeModel's).
inline absl::StatusOr<std::unique_ptr<Model>> ParseModelHeader(absl::string_view header) {
  using model_file_internal::Get;
  if (header.size() < model_file_internal::kHeaderBytes ||
      std::memcmp(header.data(), model_file_internal::kMagic, 8) != 0) {
    return absl::InvalidArgumentError("not an Eddy model header (no EDDYMODL magic)");
  }
  const uint32_t format = Get<uint32_t>(header, 8);
  if (format != model_file_internal::kFormatVersion) {
    return absl::InvalidArgumentError(absl::StrCat("model file format version ", format,
                                                   " is not supported (this Eddy reads 1)"));
  }
  const uint64_t count = Get<uint64_t>(header, 112);
  const uint32_t kind = Get<uint32_t>(header, 12);
  if (kind < 1 || kind > 3) {
    return absl::InvalidArgumentError(absl::StrCat("model file has unknown model kind ", kind));
  }
  ModelOptions o;
  o.bits = static_cast<int>(Get<uint32_t>(header, 16));
  o.factors = static_cast<int>(Get<uint32_t>(header, 20));
  double* doubles[] = {&o.alpha,  &o.beta,        &o.l1,
                       &o.l2,     &o.learning_rate, &o.sgd_l2,
                       &o.init_stddev, &o.fm_learning_rate, &o.fm_l2};
  for (size_t i = 0; i < 9; ++i) *doubles[i] = Get<double>(header, 32 + 8 * i);
  o.seed = Get<uint64_t>(header, 104);
  if (static_cast<ModelKind>(kind) != ModelKind::kFm) o.factors = ModelOptions().factors;
  // The parameter count the header implies, checked before anything is
  // allocated (a forged header must not make us allocate gigabytes).
  if (o.bits < 1 || o.bits > 28 || o.factors < 1 || o.factors > FmModel::kMaxFactors) {
    return absl::InvalidArgumentError(absl::StrCat("model file has bits ", o.bits, " and factors ",
                                                   o.factors, " (out of range)"));
  }
  const uint64_t per_index = static_cast<ModelKind>(kind) == ModelKind::kFm
                                 ? 2 + 2 * static_cast<uint64_t>(o.factors)
                                 : 2;
  if (count != per_index * ((uint64_t{1} << o.bits) + 1)) {
    return absl::DataLossError(absl::StrCat("model file has ", count, " parameters; a ",
                                            ModelKindName(static_cast<ModelKind>(kind)), " model of ",
                                            o.bits, " bits has ",
                                            per_index * ((uint64_t{1} << o.bits) + 1)));
  }
  absl::StatusOr<std::unique_ptr<Model>> model = MakeModel(static_cast<ModelKind>(kind), o);
  if (!model.ok()) return absl::InvalidArgumentError(absl::StrCat("model file: ", model.status().message()));
  if ((*model)->params().size() != count) {
    return absl::DataLossError(absl::StrCat("model file has ", count, " parameters; a ",
                                            ModelKindName(static_cast<ModelKind>(kind)), " model of ",
                                            o.bits, " bits has ", (*model)->params().size()));
  }
  (*model)->set_version(Get<uint64_t>(header, 24));
  return model;
}

inline absl::StatusOr<std::unique_ptr<Model>> ParseModel(absl::string_view bytes) {
  using model_file_internal::Get;
  if (bytes.size() < 8 || std::memcmp(bytes.data(), model_file_internal::kMagic, 8) != 0) {
    return absl::InvalidArgumentError("not an Eddy model file (no EDDYMODL magic)");
  }
  if (bytes.size() < model_file_internal::kHeaderBytes + 8) {
    return absl::DataLossError(absl::StrCat("model file truncated (", bytes.size(), " bytes)"));
  }
  const uint32_t format = Get<uint32_t>(bytes, 8);
  if (format != model_file_internal::kFormatVersion) {
    return absl::InvalidArgumentError(absl::StrCat("model file format version ", format,
                                                   " is not supported (this Eddy reads 1)"));
  }
  const uint64_t count = Get<uint64_t>(bytes, 112);
  if (count > (bytes.size() - model_file_internal::kHeaderBytes - 8) / 4 ||
      bytes.size() != model_file_internal::kHeaderBytes + 4 * count + 8) {
    return absl::DataLossError(absl::StrCat("model file size ", bytes.size(),
                                            " does not match its ", count, " parameters"));
  }
  const size_t body = bytes.size() - 8;
  if (XXH3_64bits(bytes.data(), body) != Get<uint64_t>(bytes, body)) {
    return absl::DataLossError("model file checksum mismatch (corrupted or truncated)");
  }
  EDDY_ASSIGN_OR_RETURN(std::unique_ptr<Model> model,
                        ParseModelHeader(bytes.substr(0, model_file_internal::kHeaderBytes)));
  std::memcpy(model->mutable_params()->data(), bytes.data() + model_file_internal::kHeaderBytes,
              4 * count);
  return model;
}

}  // namespace eddy

#endif  // EDDY_OPERATORS_MODEL_FILE_H_
