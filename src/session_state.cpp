// Saving and restoring a Session: position, KV cache and newest logits as one byte string.
//
// Layout (little-endian), version 1:
//   "SLIMKV" 0x00 0x01 | u32 version | u32 0 | u64 model fingerprint | i64 position | i64 context
//   | i64 layers | i64 kv_heads | i64 head_dim | i64 logits count (0 or vocab_size)
//   | per layer: i64 capacity, i64 slots, then keys [kv_head][slot][head_dim] f32, values likewise
//   | logits f32 | u64 FNV-1a checksum of everything before it
// A layer stores min(position, capacity) slots; a ring buffer that has wrapped stores all of its
// slots in slot order and can only be restored into a layer of the same capacity.
#include <bit>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include "session_state.hpp"
#include "slim/error.hpp"

namespace slim {
namespace {

constexpr char kMagic[8] = {'S', 'L', 'I', 'M', 'K', 'V', 0, 1};
constexpr uint32_t kVersion = 1;
static_assert(std::endian::native == std::endian::little, "the state format is little-endian");

uint64_t fnv1a(const uint8_t* p, size_t n, uint64_t h = 0xcbf29ce484222325ull) {
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

// What a state must agree on with the model it is restored into.
uint64_t model_fingerprint(const ModelConfig& c) {
  std::string key = c.architecture;
  for (int64_t v : {c.vocab_size, c.hidden_size, c.num_layers, c.num_heads, c.num_kv_heads, c.head_dim}) {
    key += '|' + std::to_string(v);
  }
  key += '|' + std::to_string(c.rope_theta);
  return fnv1a(reinterpret_cast<const uint8_t*>(key.data()), key.size());
}

class Writer {
 public:
  template <typename T>
  void put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    out.insert(out.end(), p, p + sizeof(T));
  }
  void floats(const float* p, size_t n) {
    const auto* b = reinterpret_cast<const uint8_t*>(p);
    out.insert(out.end(), b, b + n * sizeof(float));
  }
  std::vector<uint8_t> out;
};

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  template <typename T>
  T get() {
    T v;
    std::memcpy(&v, take(sizeof(T)), sizeof(T));
    return v;
  }
  // The next n floats, left in place (they may be unaligned, so they are copied out with memcpy).
  const uint8_t* floats(size_t n) {
    if (n > (bytes_.size() - pos_) / sizeof(float)) throw Error(ErrorCode::invalid_format, "session state is truncated");
    return take(n * sizeof(float));
  }
  bool at_end() const { return pos_ == bytes_.size(); }

 private:
  const uint8_t* take(size_t n) {
    if (n > bytes_.size() - pos_) throw Error(ErrorCode::invalid_format, "session state is truncated");
    const uint8_t* p = bytes_.data() + pos_;
    pos_ += n;
    return p;
  }
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

[[noreturn]] void mismatch(const std::string& what) {
  throw Error(ErrorCode::invalid_argument, "session state does not fit this session: " + what);
}

}  // namespace

std::span<const float> Session::logits() const noexcept {
  const auto& l = state_->logits;
  const auto vocab = static_cast<size_t>(state_->model->impl().config.vocab_size);
  if (l.size() < vocab) return {};
  return std::span<const float>(l).subspan(l.size() - vocab);
}

std::vector<uint8_t> Session::save_state() const {
  const State& s = *state_;
  const KvCache& cache = s.cache;
  Writer w;
  for (char c : kMagic) w.put(c);
  w.put(kVersion);
  w.put(uint32_t{0});
  w.put(model_fingerprint(s.model->impl().config));
  w.put(s.position);
  w.put(cache.context());
  w.put(cache.layers());
  w.put(cache.kv_heads());
  w.put(cache.head_dim());
  const auto newest = logits();
  w.put(static_cast<int64_t>(newest.size()));
  for (int64_t l = 0; l < cache.layers(); ++l) {
    const int64_t slots = std::min(s.position, cache.capacity(l));
    w.put(cache.capacity(l));
    w.put(slots);
    // As f32 whatever the cache holds: an f16 cache's values convert exactly, so the format is one.
    const auto n = static_cast<size_t>(slots * cache.head_dim());
    std::vector<float> keys(n * static_cast<size_t>(cache.kv_heads())), values(keys.size());
    for (int64_t h = 0; h < cache.kv_heads(); ++h) {
      cache.read_slots(l, h, slots, keys.data() + static_cast<size_t>(h) * n, values.data() + static_cast<size_t>(h) * n);
    }
    w.floats(keys.data(), keys.size());
    w.floats(values.data(), values.size());
  }
  w.floats(newest.data(), newest.size());
  w.put(fnv1a(w.out.data(), w.out.size()));
  return std::move(w.out);
}

void Session::restore_state(std::span<const uint8_t> bytes) {
  State& s = *state_;
  const ModelConfig& config = s.model->impl().config;
  if (bytes.size() < sizeof(kMagic) + 8 || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    throw Error(ErrorCode::invalid_format, "not a slim session state (bad magic)");
  }
  const size_t body = bytes.size() - sizeof(uint64_t);
  uint64_t stored_sum;
  std::memcpy(&stored_sum, bytes.data() + body, sizeof stored_sum);
  if (fnv1a(bytes.data(), body) != stored_sum) throw Error(ErrorCode::invalid_format, "session state checksum mismatch");

  Reader r(bytes.first(body));
  for (size_t i = 0; i < sizeof(kMagic); ++i) r.get<char>();
  if (r.get<uint32_t>() != kVersion) throw Error(ErrorCode::invalid_format, "session state version is not 1");
  r.get<uint32_t>();
  if (r.get<uint64_t>() != model_fingerprint(config)) mismatch("it was saved from a model of another shape");
  const auto position = r.get<int64_t>();
  r.get<int64_t>();  // the saving session's context, for information
  const auto layers = r.get<int64_t>(), kv_heads = r.get<int64_t>(), head_dim = r.get<int64_t>();
  const auto logit_count = r.get<int64_t>();
  KvCache& cache = s.cache;
  if (layers != cache.layers() || kv_heads != cache.kv_heads() || head_dim != cache.head_dim()) {
    mismatch("its cache shape differs from the model's");
  }
  if (position < 0 || position > cache.context()) {
    mismatch("it holds " + std::to_string(position) + " positions; the context is " + std::to_string(cache.context()));
  }
  if (logit_count != 0 && logit_count != config.vocab_size) throw Error(ErrorCode::invalid_format, "session state logits have the wrong size");

  // Check everything before touching the session, so a bad state leaves it unchanged.
  struct LayerData {
    int64_t slots;
    const uint8_t* keys;
    const uint8_t* values;
  };
  std::vector<LayerData> data;
  for (int64_t l = 0; l < layers; ++l) {
    const auto capacity = r.get<int64_t>(), slots = r.get<int64_t>();
    if (capacity <= 0 || slots != std::min(position, capacity)) {
      throw Error(ErrorCode::invalid_format, "session state layer sizes are inconsistent");
    }
    const bool wrapped = position > capacity;
    if (wrapped ? capacity != cache.capacity(l) : slots > cache.capacity(l)) {
      mismatch("layer " + std::to_string(l) + " keeps " + std::to_string(capacity) + " positions, this session " +
               std::to_string(cache.capacity(l)));
    }
    const auto n = static_cast<size_t>(kv_heads * slots * head_dim);
    const uint8_t* keys = r.floats(n);
    data.push_back({slots, keys, r.floats(n)});
  }
  const uint8_t* newest = r.floats(static_cast<size_t>(logit_count));
  if (!r.at_end()) throw Error(ErrorCode::invalid_format, "session state has trailing bytes");

  // The bytes may sit at any alignment: each head's floats are copied out before the cache takes
  // them (rounding them in an f16 cache).
  std::vector<float> keys, values;
  for (int64_t l = 0; l < layers; ++l) {
    const LayerData& d = data[static_cast<size_t>(l)];
    const auto n = static_cast<size_t>(d.slots * head_dim);
    if (n == 0) continue;  // nothing to copy (and an empty vector's data() may be null, which memcpy may not take)
    keys.resize(n);
    values.resize(n);
    for (int64_t h = 0; h < kv_heads; ++h) {
      std::memcpy(keys.data(), d.keys + static_cast<size_t>(h) * n * sizeof(float), n * sizeof(float));
      std::memcpy(values.data(), d.values + static_cast<size_t>(h) * n * sizeof(float), n * sizeof(float));
      cache.write_slots(l, h, d.slots, keys.data(), values.data());
    }
  }
  s.logits.resize(static_cast<size_t>(logit_count));
  if (logit_count > 0) std::memcpy(s.logits.data(), newest, s.logits.size() * sizeof(float));
  s.position = position;
}

void Session::save_state(const std::filesystem::path& file) const {
  const auto bytes = save_state();
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw Error(ErrorCode::io, file.string() + ": cannot write the session state");
}

void Session::restore_state(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(ErrorCode::io, file.string() + ": cannot open");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    restore_state(bytes);
  } catch (const Error& e) {
    throw Error(e.code(), file.string() + ": " + e.what());
  }
}

}  // namespace slim
