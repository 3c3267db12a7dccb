#include "io/safetensors.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "limits_check.hpp"
#include "slim/error.hpp"

namespace slim::io {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::filesystem::path& path, const std::string& what) {
  throw Error(ErrorCode::invalid_format, path.string() + ": " + what);
}

uint64_t read_u64_le(const std::byte* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint64_t>(p[i]);
  return v;
}

std::optional<DType> to_dtype(const std::string& s) {
  if (s == "F32") return DType::f32;
  if (s == "F16") return DType::f16;
  if (s == "BF16") return DType::bf16;
  return std::nullopt;
}

TensorEntry parse_entry(const std::filesystem::path& path, const std::string& name, const json& v,
                        uint64_t data_size, const Limits& limits) {
  const std::string where = "tensor '" + name + "'";
  if (!v.is_object()) bad(path, where + " is not an object");
  TensorEntry e;
  e.name = name;

  auto dt = v.find("dtype");
  if (dt == v.end() || !dt->is_string()) bad(path, where + " has no string 'dtype'");
  e.dtype = dt->get<std::string>();
  auto elem = safetensors_dtype_size(e.dtype);
  if (!elem) bad(path, where + " has unknown dtype '" + e.dtype + "'");

  auto sh = v.find("shape");
  if (sh == v.end() || !sh->is_array()) bad(path, where + " has no array 'shape'");
  if (sh->size() > 8) bad(path, where + " has more than 8 dimensions");
  uint64_t numel = 1;
  for (const json& d : *sh) {
    if (!d.is_number_unsigned()) bad(path, where + " has a shape entry that is not a non-negative integer");
    uint64_t n = d.get<uint64_t>();
    if (n != 0 && numel > std::numeric_limits<uint64_t>::max() / 8 / n) bad(path, where + " is impossibly large");
    numel *= n;
    check_limit(path.string() + ": " + where + ": element count", numel, "max_tensor_elements",
                limits.max_tensor_elements);
    e.shape.push_back(static_cast<int64_t>(std::min<uint64_t>(n, std::numeric_limits<int64_t>::max())));
  }

  auto off = v.find("data_offsets");
  if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
      !(*off)[1].is_number_unsigned()) {
    bad(path, where + " has no 'data_offsets' [begin, end] of non-negative integers");
  }
  e.begin = (*off)[0].get<uint64_t>();
  e.end = (*off)[1].get<uint64_t>();
  if (e.begin > e.end) bad(path, where + " has data_offsets with begin after end");
  if (e.end > data_size) {
    bad(path, where + " has data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                  "] outside the data area of " + std::to_string(data_size) + " bytes");
  }
  if (e.end - e.begin != numel * *elem) {
    bad(path, where + " has shape and dtype of " + std::to_string(numel * *elem) + " bytes but data_offsets span " +
                  std::to_string(e.end - e.begin));
  }
  return e;
}

}  // namespace

std::optional<size_t> safetensors_dtype_size(const std::string& dtype) {
  static const std::map<std::string, size_t> sizes = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"I16", 2},
      {"U16", 2},  {"F16", 2}, {"BF16", 2}, {"I32", 4},    {"U32", 4},     {"F32", 4},
      {"I64", 8},  {"U64", 8}, {"F64", 8}};
  auto it = sizes.find(dtype);
  if (it == sizes.end()) return std::nullopt;
  return it->second;
}

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path, bool use_mmap, const Limits& limits) {
  return parse(MappedFile::open(path, use_mmap), limits);
}

SafetensorsFile SafetensorsFile::parse(std::shared_ptr<const MappedFile> file, const Limits& limits) {
  SafetensorsFile f;
  f.file_ = std::move(file);
  const auto& path = f.file_->path();
  const auto bytes = f.file_->bytes();
  if (bytes.size() < 8) bad(path, "file of " + std::to_string(bytes.size()) + " bytes is too short for a header");
  const uint64_t header_len = read_u64_le(bytes.data());
  if (header_len > bytes.size() - 8) {
    bad(path, "header length " + std::to_string(header_len) + " runs past the end of the file (" +
                  std::to_string(bytes.size()) + " bytes)");
  }
  check_limit(path.string() + ": header length", header_len, "max_safetensors_header_bytes",
              limits.max_safetensors_header_bytes);
  const char* header = reinterpret_cast<const char*>(bytes.data() + 8);
  f.data_area_ = bytes.subspan(8 + header_len);

  json root = json::parse(header, header + header_len, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) bad(path, "header is not valid JSON");
  if (!root.is_object()) bad(path, "header is not a JSON object");

  for (auto it = root.begin(); it != root.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) bad(path, "__metadata__ is not an object");
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (!m->is_string()) bad(path, "__metadata__ value '" + m.key() + "' is not a string");
        f.metadata_[m.key()] = m->get<std::string>();
      }
      continue;
    }
    check_limit(path.string() + ": tensor count", f.entries_.size() + 1, "max_tensor_count", limits.max_tensor_count);
    f.entries_.push_back(parse_entry(path, it.key(), *it, f.data_area_.size(), limits));
  }

  // No two tensors may share bytes.
  std::vector<const TensorEntry*> by_offset;
  for (const auto& e : f.entries_) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorEntry* a, const TensorEntry* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    if (by_offset[i]->begin < by_offset[i - 1]->end) {
      bad(path, "tensors '" + by_offset[i - 1]->name + "' and '" + by_offset[i]->name + "' overlap");
    }
  }
  std::sort(f.entries_.begin(), f.entries_.end(),
            [](const TensorEntry& a, const TensorEntry& b) { return a.name < b.name; });
  auto layouts = parse_block_layouts(path.string(), f.metadata_, f.entries_);
  for (TensorEntry& e : f.entries_) {
    auto it = layouts.find(e.name);
    if (it != layouts.end()) e.blocks = std::move(it->second);
  }
  return f;
}

const TensorEntry* SafetensorsFile::find(const std::string& name) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), name,
                             [](const TensorEntry& e, const std::string& n) { return e.name < n; });
  return it != entries_.end() && it->name == name ? &*it : nullptr;
}

std::span<const std::byte> SafetensorsFile::data(const TensorEntry& entry) const {
  return data_area_.subspan(entry.begin, entry.end - entry.begin);
}

Tensor SafetensorsFile::tensor(const TensorEntry& entry) const {
  if (entry.blocks) {
    // Blocks start with an fp16 scale, so they need 2-byte alignment (a valid file has 64).
    const auto bytes = data(entry);
    if (reinterpret_cast<uintptr_t>(bytes.data()) % 2 == 0) {
      return Tensor::view(entry.blocks->dtype, entry.blocks->shape, bytes.data());
    }
    Tensor copy = Tensor::zeros(entry.blocks->dtype, entry.blocks->shape);
    if (!bytes.empty()) std::memcpy(copy.mutable_data(), bytes.data(), bytes.size());
    return copy;
  }
  auto dtype = to_dtype(entry.dtype);
  if (!dtype) {
    throw Error(ErrorCode::unsupported, path().string() + ": tensor '" + entry.name + "' has dtype " +
                                            entry.dtype + "; slim reads F32, F16 and BF16");
  }
  if (entry.shape.size() > Tensor::kMaxDims) {
    throw Error(ErrorCode::unsupported, path().string() + ": tensor '" + entry.name + "' has more than 4 dimensions");
  }
  const auto bytes = data(entry);
  if (reinterpret_cast<uintptr_t>(bytes.data()) % dtype_size(*dtype) == 0) {
    return Tensor::view(*dtype, entry.shape, bytes.data());
  }
  Tensor copy = Tensor::zeros(*dtype, entry.shape);
  if (!bytes.empty()) std::memcpy(copy.mutable_data(), bytes.data(), bytes.size());
  return copy;
}

WeightFiles WeightFiles::open(const std::filesystem::path& model_dir, bool use_mmap, const Limits& limits) {
  WeightFiles w;
  w.dir_ = model_dir;
  std::vector<std::string> shards;
  const auto index_path = model_dir / "model.safetensors.index.json";
  if (std::filesystem::exists(index_path)) {
    const std::string text = read_file_limited(index_path, limits.max_json_bytes, "max_json_bytes");
    json index = json::parse(text, nullptr, false);
    if (index.is_discarded() || !index.is_object()) bad(index_path, "is not a JSON object");
    auto map = index.find("weight_map");
    if (map == index.end() || !map->is_object()) bad(index_path, "has no object 'weight_map'");
    for (auto it = map->begin(); it != map->end(); ++it) {
      if (!it->is_string()) bad(index_path, "weight_map entry '" + it.key() + "' is not a file name");
      const std::string shard = it->get<std::string>();
      if (shard.find('/') != std::string::npos || shard == "..") {
        bad(index_path, "weight_map names '" + shard + "', which is not a file in the folder");
      }
      if (std::find(shards.begin(), shards.end(), shard) == shards.end()) shards.push_back(shard);
    }
    if (shards.empty()) bad(index_path, "weight_map is empty");
  } else if (std::filesystem::exists(model_dir / "model.safetensors")) {
    shards.push_back("model.safetensors");
  } else {
    throw Error(ErrorCode::io, model_dir.string() + ": no model.safetensors or model.safetensors.index.json");
  }

  for (const auto& shard : shards) {
    const auto path = model_dir / shard;
    if (!std::filesystem::exists(path)) {
      throw Error(ErrorCode::io, model_dir.string() + ": shard '" + shard + "' listed in the index is missing");
    }
    w.files_.push_back(SafetensorsFile::open(path, use_mmap, limits));
  }
  for (size_t i = 0; i < w.files_.size(); ++i) {
    const auto& entries = w.files_[i].entries();
    for (size_t j = 0; j < entries.size(); ++j) {
      if (!w.index_.emplace(entries[j].name, std::make_pair(i, j)).second) {
        bad(w.files_[i].path(), "tensor '" + entries[j].name + "' also appears in another shard");
      }
    }
  }
  return w;
}

const TensorEntry& WeightFiles::entry(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) {
    throw Error(ErrorCode::missing_tensor, dir_.string() + ": tensor '" + name + "' is missing from the weights");
  }
  return files_[it->second.first].entries()[it->second.second];
}

Tensor WeightFiles::tensor(const std::string& name) const {
  const TensorEntry& e = entry(name);
  return files_[index_.at(name).first].tensor(e);
}

const std::map<std::string, std::string>& WeightFiles::metadata() const { return files_.front().metadata(); }

std::vector<std::string> WeightFiles::names() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : index_) out.push_back(name);
  return out;
}

}  // namespace slim::io
