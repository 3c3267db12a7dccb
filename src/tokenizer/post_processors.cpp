#include "tokenizer/post_processors.hpp"

#include "tokenizer/json_util.hpp"

namespace slim::tok {
namespace {

// A single-sequence template: fixed ids before and after the text.
class Template : public PostProcessor {
 public:
  Template(std::vector<int32_t> before, std::vector<int32_t> after)
      : before_(std::move(before)), after_(std::move(after)) {}
  void add_special_tokens(std::vector<int32_t>& ids) const override {
    ids.insert(ids.begin(), before_.begin(), before_.end());
    ids.insert(ids.end(), after_.begin(), after_.end());
  }
  bool has_template() const override { return true; }
  std::optional<int32_t> leading_token() const override {
    if (before_.empty()) return std::nullopt;
    return before_.front();
  }

 private:
  std::vector<int32_t> before_, after_;
};

class Identity : public PostProcessor {
 public:
  void add_special_tokens(std::vector<int32_t>&) const override {}
  bool has_template() const override { return false; }
  std::optional<int32_t> leading_token() const override { return std::nullopt; }
};

class Sequence : public PostProcessor {
 public:
  explicit Sequence(std::vector<std::unique_ptr<PostProcessor>> steps) : steps_(std::move(steps)) {}
  void add_special_tokens(std::vector<int32_t>& ids) const override {
    for (const auto& step : steps_) step->add_special_tokens(ids);
  }
  bool has_template() const override {
    for (const auto& step : steps_) {
      if (step->has_template()) return true;
    }
    return false;
  }
  std::optional<int32_t> leading_token() const override {
    for (const auto& step : steps_) {
      if (auto t = step->leading_token()) return t;
    }
    return std::nullopt;
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> steps_;
};

std::unique_ptr<PostProcessor> make_template(const json& config, const std::string& what) {
  const json* single = member(config, "single");
  if (!single || !single->is_array()) bad_field(what, "single", "must be an array");
  const json* specials = member(config, "special_tokens");
  std::vector<int32_t> before, after;
  bool seen_sequence = false;
  for (const json& item : *single) {
    if (const json* special = member(item, "SpecialToken")) {
      const std::string name = string_field(*special, "id", what);
      const json* entry = specials ? member(*specials, name.c_str()) : nullptr;
      const json* ids = entry ? member(*entry, "ids") : nullptr;
      if (!ids || !ids->is_array()) bad_field(what, "special_tokens", "has no ids for '" + name + "'");
      for (const json& id : *ids) {
        if (!id.is_number_integer()) bad_field(what, "special_tokens", "ids must be integers");
        (seen_sequence ? after : before).push_back(id.get<int32_t>());
      }
    } else if (const json* sequence = member(item, "Sequence")) {
      if (string_field(*sequence, "id", what) != "A") {
        bad_field(what, "single", "may only use sequence A");
      }
      seen_sequence = true;
    } else {
      bad_field(what, "single", "items must be SpecialToken or Sequence");
    }
  }
  return std::make_unique<Template>(std::move(before), std::move(after));
}

// BertProcessing / RobertaProcessing: [cls] text [sep], with "cls"/"sep" given as [token, id].
std::unique_ptr<PostProcessor> make_cls_sep(const json& config, const std::string& what) {
  auto id_of = [&](const char* key) {
    const json* pair = member(config, key);
    if (!pair || !pair->is_array() || pair->size() != 2 || !(*pair)[1].is_number_integer()) {
      bad_field(what, key, "must be [token, id]");
    }
    return (*pair)[1].get<int32_t>();
  };
  return std::make_unique<Template>(std::vector<int32_t>{id_of("cls")},
                                    std::vector<int32_t>{id_of("sep")});
}

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const json& config) {
  if (config.is_null()) return nullptr;
  const std::string type = component_type(config, "post_processor");
  const std::string what = "post_processor " + type;
  if (type == "TemplateProcessing") return make_template(config, what);
  if (type == "BertProcessing" || type == "RobertaProcessing") return make_cls_sep(config, what);
  if (type == "ByteLevel") return std::make_unique<Identity>();
  if (type == "Sequence") {
    const json* list = member(config, "processors");
    if (!list || !list->is_array()) bad_field(what, "processors", "must be an array");
    std::vector<std::unique_ptr<PostProcessor>> steps;
    for (const json& step : *list) {
      if (auto p = make_post_processor(step)) steps.push_back(std::move(p));
    }
    return std::make_unique<Sequence>(std::move(steps));
  }
  unsupported_component("post_processor", type);
}

}  // namespace slim::tok
