// The safetensors reader on files the test writes itself: well-formed, sharded and malformed.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "io/safetensors.hpp"
#include "slim/error.hpp"

namespace fs = std::filesystem;
using slim::io::SafetensorsFile;
using slim::io::WeightFiles;

namespace {

// A fresh temporary folder, removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("slim-test-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string u64le(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

// header JSON + data bytes, with the length prefix.
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  return u64le(header.size()) + header + data;
}

void write(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string floats(std::initializer_list<float> v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), v.begin(), s.size());
  return s;
}

// Expects opening `bytes` as a safetensors file to throw a slim::Error whose message contains `what`.
void expect_rejected(const std::string& bytes, const std::string& what) {
  TempDir dir;
  write(dir.path / "model.safetensors", bytes);
  INFO("expecting an error mentioning: " << what);
  try {
    SafetensorsFile::open(dir.path / "model.safetensors");
    FAIL("the file was accepted");
  } catch (const slim::Error& e) {
    INFO("message: " << e.what());
    CHECK(e.code() == slim::ErrorCode::invalid_format);
    CHECK(std::string(e.what()).find(what) != std::string::npos);
    CHECK(std::string(e.what()).find("model.safetensors") != std::string::npos);
  }
}

const std::string kGoodHeader =
    R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
    R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[16,20]}})";

}  // namespace

TEST_CASE("a well-formed file gives its tensors and metadata", "[safetensors]") {
  TempDir dir;
  std::string data = floats({1, 2, 3, 4}) + std::string("\x80\x3f\x00\x40", 4);  // bf16 1.0, 2.0
  write(dir.path / "model.safetensors", safetensors_bytes(kGoodHeader, data));
  auto f = SafetensorsFile::open(dir.path / "model.safetensors");
  CHECK(f.metadata().at("format") == "pt");
  REQUIRE(f.entries().size() == 2);
  auto a = f.tensor(*f.find("a"));
  CHECK(a.dtype() == slim::DType::f32);
  CHECK(a.dim(0) == 2);
  CHECK(a.dim(1) == 2);
  CHECK(a.data_as<float>()[3] == 4.0f);
  CHECK_FALSE(a.owns_memory());  // a view of the mapping
  auto b = f.tensor(*f.find("b"));
  CHECK(b.dtype() == slim::DType::bf16);
  CHECK(f.find("c") == nullptr);

  // Reading instead of mapping gives the same.
  auto g = SafetensorsFile::open(dir.path / "model.safetensors", /*use_mmap=*/false);
  CHECK(g.tensor(*g.find("a")).data_as<float>()[2] == 3.0f);
}

TEST_CASE("a misaligned tensor is copied to aligned memory", "[safetensors]") {
  TempDir dir;
  const std::string header = R"({"x":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]},)"
                             R"("y":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})";
  // Pad the header so the data area starts 8-aligned; y then sits at offset 2.
  std::string padded = header + std::string((8 - (8 + header.size()) % 8) % 8, ' ');
  write(dir.path / "model.safetensors", safetensors_bytes(padded, std::string(2, '\0') + floats({7.5f})));
  auto f = SafetensorsFile::open(dir.path / "model.safetensors");
  auto y = f.tensor(*f.find("y"));
  CHECK(y.owns_memory());
  CHECK(y.data_as<float>()[0] == 7.5f);
}

TEST_CASE("malformed files are rejected with a message naming the problem", "[safetensors]") {
  const std::string data = floats({1, 2, 3, 4}) + std::string(4, '\0');
  SECTION("truncated before the header length") { expect_rejected("abc", "too short"); }
  SECTION("truncated header") {
    std::string full = safetensors_bytes(kGoodHeader, data);
    expect_rejected(full.substr(0, 40), "past the end");
  }
  SECTION("truncated data") {
    std::string full = safetensors_bytes(kGoodHeader, data);
    expect_rejected(full.substr(0, full.size() - 3), "outside the data area");
  }
  // A header over Limits::max_safetensors_header_bytes is tests/test_limits.cpp's.
  SECTION("huge header length") { expect_rejected(u64le(uint64_t{1} << 62) + "{}", "runs past the end of the file"); }
  SECTION("bad JSON") { expect_rejected(safetensors_bytes("{\"a\": [1, 2", data), "not valid JSON"); }
  SECTION("header not an object") { expect_rejected(safetensors_bytes("[1,2]", data), "not a JSON object"); }
  SECTION("unknown dtype") {
    expect_rejected(safetensors_bytes(R"({"a":{"dtype":"F13","shape":[1],"data_offsets":[0,4]}})", data),
                    "unknown dtype 'F13'");
  }
  SECTION("wrong byte size") {
    expect_rejected(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data),
                    "data_offsets span 8");
  }
  SECTION("overlapping tensors") {
    expect_rejected(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                      data),
                    "overlap");
  }
  SECTION("offsets out of order") {
    expect_rejected(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", data),
                    "begin after end");
  }
  SECTION("negative dimension") {
    expect_rejected(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", data),
                    "shape entry");
  }
  SECTION("shape overflow") {
    expect_rejected(safetensors_bytes(
                        R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,4]}})", data),
                    "impossibly large");
  }
  SECTION("missing data_offsets") {
    expect_rejected(safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1]}})", data), "data_offsets");
  }
  SECTION("metadata not strings") {
    expect_rejected(safetensors_bytes(R"({"__metadata__":{"k":1}})", data), "__metadata__");
  }
}

TEST_CASE("sharded weights are found through the index", "[safetensors]") {
  TempDir dir;
  write(dir.path / "model-00001-of-00002.safetensors",
        safetensors_bytes(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", floats({1})));
  write(dir.path / "model-00002-of-00002.safetensors",
        safetensors_bytes(R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", floats({2})));
  write(dir.path / "model.safetensors.index.json",
        R"({"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}})");
  auto w = WeightFiles::open(dir.path);
  CHECK(w.tensor("a").data_as<float>()[0] == 1.0f);
  CHECK(w.tensor("b").data_as<float>()[0] == 2.0f);
  try {
    w.tensor("c");
    FAIL("missing tensor accepted");
  } catch (const slim::Error& e) {
    CHECK(e.code() == slim::ErrorCode::missing_tensor);
    CHECK(std::string(e.what()).find("'c'") != std::string::npos);
  }

  SECTION("a missing shard is an error naming it") {
    fs::remove(dir.path / "model-00002-of-00002.safetensors");
    try {
      WeightFiles::open(dir.path);
      FAIL("missing shard accepted");
    } catch (const slim::Error& e) {
      CHECK(std::string(e.what()).find("model-00002-of-00002.safetensors") != std::string::npos);
    }
  }
  SECTION("an index pointing outside the folder is rejected") {
    write(dir.path / "model.safetensors.index.json", R"({"weight_map":{"a":"../x.safetensors"}})");
    CHECK_THROWS_AS(WeightFiles::open(dir.path), slim::Error);
  }
}

TEST_CASE("a folder without weights is an io error", "[safetensors]") {
  TempDir dir;
  try {
    WeightFiles::open(dir.path);
    FAIL("accepted");
  } catch (const slim::Error& e) {
    CHECK(e.code() == slim::ErrorCode::io);
  }
}
