// A JSON Schema to GBNF. The facts follow llama.cpp's json-schema-to-grammar (common/
// json-schema-to-grammar.cpp) and XGrammar's json_schema_converter; the code is slim's own.
// Every text the grammar allows validates against the schema ("exact"); the grammar may allow
// fewer texts than the schema (no extra properties unless additionalProperties says so, no
// whitespace in compact mode, no 29 February). A keyword outside the subset is an error.
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "grammar/gbnf.hpp"
#include "slim/error.hpp"

namespace slim::grammar {
namespace {

using Json = nlohmann::ordered_json;

const std::string kDead = "!";  // an object rule no text can finish
constexpr int kPrettyDepth = 16;  // deeper values are written compact (keeps recursion finite)

std::string escape_pointer(const std::string& key) {
  std::string out;
  for (const char c : key) out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
  return out;
}

// Decimal ranges as GBNF: [lo, hi] for non-negative integers of the same digit count.
std::string same_length_range(const std::string& lo, const std::string& hi) {
  if (lo.size() == 1) return lo == hi ? gbnf_literal(lo) : "[" + lo + "-" + hi + "]";
  if (lo[0] == hi[0]) return gbnf_literal(lo.substr(0, 1)) + " " + same_length_range(lo.substr(1), hi.substr(1));
  const size_t rest = lo.size() - 1;
  std::string out = "(" + gbnf_literal(lo.substr(0, 1)) + " " + same_length_range(lo.substr(1), std::string(rest, '9'));
  if (hi[0] - lo[0] > 1) {
    out += " | [" + std::string(1, static_cast<char>(lo[0] + 1)) + "-" + std::string(1, static_cast<char>(hi[0] - 1)) +
           "] [0-9]{" + std::to_string(rest) + "}";
  }
  return out + " | " + gbnf_literal(hi.substr(0, 1)) + " " + same_length_range(std::string(rest, '0'), hi.substr(1)) + ")";
}

// [lo, hi] for 0 <= lo <= hi, in canonical decimal (no leading zeros).
std::string uint_range(uint64_t lo, uint64_t hi) {
  std::string out;
  std::string a = std::to_string(lo);
  const std::string b = std::to_string(hi);
  while (a.size() < b.size()) {
    const std::string top(a.size(), '9');
    out += (out.empty() ? "" : " | ") + same_length_range(a, top);
    a.assign(1, '1');
    a.append(top.size(), '0');
  }
  out += (out.empty() ? "" : " | ") + same_length_range(a, b);
  return "(" + out + ")";
}

// Integers >= lo (lo >= 0), any length.
std::string uint_at_least(uint64_t lo) {
  // Up to 18 digits, as the bounds: magnitudes stay in int64 (and in what parsers read exactly).
  const std::string a = std::to_string(lo);
  std::string out = "(" + same_length_range(a, std::string(a.size(), '9'));
  if (a.size() < 18) out += " | [1-9] [0-9]{" + std::to_string(a.size()) + ",17}";
  return out + ")";
}

class Compiler {
 public:
  Compiler(Json root, bool pretty) : root_(std::move(root)), pretty_(pretty) {}

  std::string run() {
    const std::string top = value(root_, "", 0);
    std::string out = "root ::= " + top + "\n";
    for (const auto& [name, body] : rules_) out += name + " ::= " + body + "\n";
    return out + json_value_gbnf();
  }

 private:
  [[noreturn]] static void fail(ErrorCode code, const std::string& pointer, const std::string& msg) {
    throw Error(code, "JSON Schema at '" + (pointer.empty() ? std::string("#") : "#" + pointer) + "': " + msg);
  }

  std::string new_rule(std::string body) {
    const std::string name = "s-" + std::to_string(rules_.size());
    rules_.emplace(name, std::move(body));
    return name;
  }

  // Whitespace before a nested line at depth d (pretty) or nothing (compact).
  std::string nl(int d) const {
    if (!pretty_ || d >= kPrettyDepth) return "";
    return gbnf_literal("\n" + std::string(static_cast<size_t>(2 * d), ' '));
  }
  std::string colon(int d) const { return pretty_ && d < kPrettyDepth ? gbnf_literal(": ") : gbnf_literal(":"); }
  static std::string join(const std::string& a, const std::string& b) {
    return a.empty() ? b : b.empty() ? a : a + " " + b;
  }

  const Json& resolve(const std::string& ref, const std::string& at) {
    if (ref.empty() || ref[0] != '#') fail(ErrorCode::unsupported, at, "only local $ref (#/...) is supported, not '" + ref + "'");
    try {
      const Json::json_pointer p(ref.substr(1));
      if (!root_.contains(p)) fail(ErrorCode::invalid_format, at, "$ref '" + ref + "' points at nothing");
      return root_.at(p);
    } catch (const Json::exception&) {
      fail(ErrorCode::invalid_format, at, "$ref '" + ref + "' is not a JSON pointer");
    }
  }

  std::string value(const Json& s, const std::string& at, int d) {
    if (s.is_boolean()) {
      if (!s.get<bool>()) fail(ErrorCode::unsupported, at, "the schema false allows nothing");
      return "value";
    }
    if (!s.is_object()) fail(ErrorCode::invalid_format, at, "a schema must be an object or a boolean");
    if (++depth_ > 256) fail(ErrorCode::limit_exceeded, at, "schema nested too deep");
    std::string r = compile(s, at, d);
    --depth_;
    return r;
  }

  std::string compile(const Json& s, const std::string& at, int d) {
    static const std::set<std::string> annotations = {"title", "description", "$schema", "$id", "$comment", "default",
                                                      "examples", "deprecated", "readOnly", "writeOnly", "$defs",
                                                      "definitions"};
    static const std::set<std::string> known = {
        "type", "properties", "required", "additionalProperties", "enum", "const", "anyOf", "oneOf", "allOf",
        "items", "prefixItems", "minItems", "maxItems", "minProperties", "maxProperties", "minLength",
        "maxLength", "pattern", "format", "minimum", "maximum", "$ref"};
    for (const auto& [k, v] : s.items()) {
      if (!annotations.count(k) && !known.count(k)) fail(ErrorCode::unsupported, at, "keyword '" + k + "' is not supported");
    }
    if (s.contains("$ref")) {
      if (!s["$ref"].is_string()) fail(ErrorCode::invalid_format, at + "/$ref", "must be a string");
      const std::string ref = s["$ref"].get<std::string>();
      for (const auto& [key, v] : s.items()) {
        if (key != "$ref" && !annotations.count(key)) fail(ErrorCode::unsupported, at, "'" + key + "' beside '$ref'");
      }
      const std::string key = ref + "@" + std::to_string(std::min(d, kPrettyDepth) * pretty_);
      if (const auto it = refs_.find(key); it != refs_.end()) return it->second;
      // Name the rule before compiling the target, so that a recursive schema refers to it.
      const std::string name = "s-" + std::to_string(rules_.size());
      rules_.emplace(name, "");
      refs_.emplace(key, name);
      rules_[name] = value(resolve(ref, at), ref.substr(1), d);
      return name;
    }
    if (s.contains("const")) return gbnf_literal(s["const"].dump());
    if (s.contains("enum")) {
      if (!s["enum"].is_array() || s["enum"].empty()) fail(ErrorCode::invalid_format, at + "/enum", "must be a non-empty array");
      std::string alts;
      for (const auto& v : s["enum"]) alts += (alts.empty() ? "" : " | ") + gbnf_literal(v.dump());
      return "(" + alts + ")";
    }
    for (const char* k : {"anyOf", "oneOf"}) {
      if (!s.contains(k)) continue;
      if (!s[k].is_array() || s[k].empty()) fail(ErrorCode::invalid_format, at + "/" + k, "must be a non-empty array");
      for (const auto& [key, v] : s.items()) {
        if (key != k && !annotations.count(key)) fail(ErrorCode::unsupported, at, std::string("'") + key + "' beside '" + k + "'");
      }
      std::string alts;
      for (size_t i = 0; i < s[k].size(); ++i) {
        alts += (alts.empty() ? "" : " | ") + value(s[k][i], at + "/" + k + "/" + std::to_string(i), d);
      }
      return "(" + alts + ")";
    }
    if (s.contains("allOf")) return all_of(s, at, d);
    if (s.contains("type") && s["type"].is_array()) {
      std::string alts;
      // Keywords of the other types do not apply to this one (JSON Schema's rule).
      static const std::map<std::string, std::set<std::string>> own = {
          {"object", {"properties", "required", "additionalProperties", "minProperties", "maxProperties"}},
          {"array", {"items", "prefixItems", "minItems", "maxItems"}},
          {"string", {"minLength", "maxLength", "pattern", "format"}},
          {"integer", {"minimum", "maximum"}},
          {"number", {"minimum", "maximum"}}};
      for (const auto& t : s["type"]) {
        if (!t.is_string()) fail(ErrorCode::invalid_format, at + "/type", "must hold strings");
        Json one = Json::object();
        for (const auto& [key, v] : s.items()) {
          bool other = false;
          for (const auto& [type, keys] : own) other = other || (type != t.get<std::string>() && keys.count(key) && !(own.count(t.get<std::string>()) && own.at(t.get<std::string>()).count(key)));
          if (!other) one[key] = v;
        }
        one["type"] = t;
        alts += (alts.empty() ? "" : " | ") + value(one, at, d);
      }
      if (alts.empty()) fail(ErrorCode::invalid_format, at + "/type", "is an empty list");
      return "(" + alts + ")";
    }
    std::string type;
    if (s.contains("type")) {
      if (!s["type"].is_string()) fail(ErrorCode::invalid_format, at + "/type", "must be a string or a list");
      type = s["type"].get<std::string>();
    } else if (s.contains("properties") || s.contains("additionalProperties") || s.contains("required")) {
      type = "object";
    } else if (s.contains("items") || s.contains("prefixItems")) {
      type = "array";
    } else if (s.contains("pattern") || s.contains("format") || s.contains("minLength") || s.contains("maxLength")) {
      type = "string";
    }
    const auto only = [&](std::initializer_list<const char*> allowed) {
      for (const auto& [key, v] : s.items()) {
        if (key == "type" || annotations.count(key)) continue;
        bool ok = false;
        for (const char* a : allowed) ok = ok || key == a;
        if (!ok) fail(ErrorCode::unsupported, at, "keyword '" + key + "' with type '" + (type.empty() ? "any" : type) + "'");
      }
    };
    if (type.empty()) return only({}), "value";
    if (type == "object") return object(s, at, d);
    if (type == "array") return array(s, at, d);
    if (type == "string") return only({"minLength", "maxLength", "pattern", "format"}), string(s, at);
    if (type == "integer") return only({"minimum", "maximum"}), integer(s, at);
    if (type == "number") return only({}), "number";
    if (type == "boolean") return only({}), "(\"true\" | \"false\")";
    if (type == "null") return only({}), "\"null\"";
    fail(ErrorCode::unsupported, at + "/type", "type '" + type + "' is not a JSON Schema type");
  }

  static int64_t count(const Json& s, const char* key, const std::string& at, int64_t fallback) {
    if (!s.contains(key)) return fallback;
    const Json& v = s[key];
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 100000) {
      fail(ErrorCode::invalid_format, at + "/" + key, "must be an integer in [0, 100000]");
    }
    return v.get<int64_t>();
  }

  std::string all_of(const Json& s, const std::string& at, int d) {
    if (!s["allOf"].is_array()) fail(ErrorCode::invalid_format, at + "/allOf", "must be an array");
    Json merged = {{"type", "object"}, {"properties", Json::object()}, {"required", Json::array()}};
    for (size_t i = 0; i < s["allOf"].size(); ++i) {
      const std::string p = at + "/allOf/" + std::to_string(i);
      const Json* part = &s["allOf"][i];
      std::string part_at = p;
      while (part->is_object() && part->contains("$ref")) {
        const std::string ref = (*part)["$ref"].get<std::string>();
        part = &resolve(ref, part_at);
        part_at = ref.substr(1);
      }
      if (!part->is_object()) fail(ErrorCode::unsupported, p, "allOf of something other than objects");
      for (const auto& [key, v] : part->items()) {
        if (key == "properties" && v.is_object()) {
          for (const auto& [name, prop] : v.items()) merged["properties"][name] = prop;
        } else if (key == "required" && v.is_array()) {
          for (const auto& r : v) merged["required"].push_back(r);
        } else if (key == "type" && v == "object") {
        } else if (key == "additionalProperties" || key == "minProperties" || key == "maxProperties") {
          merged[key] = v;
        } else if (!(key == "title" || key == "description" || key == "$comment")) {
          fail(ErrorCode::unsupported, part_at, "keyword '" + key + "' inside allOf (only objects merge)");
        }
      }
    }
    return value(merged, at, d);
  }

  std::string object(const Json& s, const std::string& at, int d) {
    for (const auto& [key, v] : s.items()) {
      static const std::set<std::string> ok = {"type", "properties", "required", "additionalProperties",
                                               "minProperties", "maxProperties", "title", "description",
                                               "$schema", "$id", "$comment", "default", "examples",
                                               "deprecated", "readOnly", "writeOnly", "$defs", "definitions"};
      if (!ok.count(key)) fail(ErrorCode::unsupported, at, "keyword '" + key + "' with type 'object'");
    }
    std::vector<std::pair<std::string, std::string>> props;  // key literal, value expression
    std::vector<bool> required;
    std::set<std::string> names, req;
    if (s.contains("required")) {
      if (!s["required"].is_array()) fail(ErrorCode::invalid_format, at + "/required", "must be an array");
      for (const auto& r : s["required"]) {
        if (!r.is_string()) fail(ErrorCode::invalid_format, at + "/required", "must hold strings");
        req.insert(r.get<std::string>());
      }
    }
    if (s.contains("properties")) {
      if (!s["properties"].is_object()) fail(ErrorCode::invalid_format, at + "/properties", "must be an object");
      for (const auto& [name, prop] : s["properties"].items()) {
        const std::string k = gbnf_literal(Json(name).dump()) + " " + colon(d + 1);
        props.emplace_back(k, value(prop, at + "/properties/" + escape_pointer(name), d + 1));
        required.push_back(req.count(name) > 0);
        names.insert(name);
      }
    }
    for (const auto& r : req) {
      if (!names.count(r)) fail(ErrorCode::unsupported, at + "/required", "required property '" + r + "' has no schema in properties");
    }
    std::string extra;  // the expression of an additional key: value pair, or "" when none
    if (s.contains("additionalProperties")) {
      const Json& a = s["additionalProperties"];
      if (!(a.is_boolean() && !a.get<bool>())) {
        extra = join(not_in_names(names), colon(d + 1)) + " " +
                value(a.is_boolean() ? Json::object() : a, at + "/additionalProperties", d + 1);
      }
    }
    const int64_t n = static_cast<int64_t>(props.size());
    const int64_t min = count(s, "minProperties", at, 0), max = count(s, "maxProperties", at, -1);
    // Rules R(i, c): properties i.. after c present ones; counts saturate past what the bounds need.
    const int64_t cap = std::max<int64_t>(min, max) + 1;
    std::map<std::pair<int64_t, int64_t>, std::string> memo;
    std::function<std::string(int64_t, int64_t)> rest = [&](int64_t i, int64_t c) -> std::string {
      c = std::min(c, cap);
      if (const auto it = memo.find({i, c}); it != memo.end()) return it->second;
      const std::string sep = c == 0 ? nl(d + 1) : join(gbnf_literal(","), nl(d + 1));
      std::string body;
      if (i == n) {
        std::vector<std::string> alts;
        const std::string end = c == 0 || nl(d).empty() ? "\"\"" : nl(d);
        if (!extra.empty() && max < 0 && c >= min) {  // any number more: no count to keep
          const std::string more = join(join(gbnf_literal(","), nl(d + 1)), extra);
          alts.push_back("(" + join(sep, extra) + " (" + more + ")*)? " + end);
        } else {
          if (c >= min) alts.push_back(end);
          if (!extra.empty() && (max < 0 || c < max)) {
            const std::string r = rest(n, c + 1);
            if (r != kDead) alts.push_back(join(join(sep, extra), r));
          }
        }
        if (alts.empty()) return memo[{i, c}] = kDead;  // too few properties can follow
        for (const auto& a : alts) body += (body.empty() ? "" : " | ") + a;
      } else {
        const auto& [k, v] = props[static_cast<size_t>(i)];
        std::vector<std::string> alts;
        if (max < 0 || c < max) {
          const std::string r = rest(i + 1, c + 1);
          if (r != kDead) alts.push_back(join(join(sep, k + " " + v), r));
        }
        if (!required[static_cast<size_t>(i)]) {
          const std::string r = rest(i + 1, c);
          if (r != kDead) alts.push_back(r);
        }
        if (alts.empty()) return memo[{i, c}] = kDead;
        for (const auto& a : alts) body += (body.empty() ? "" : " | ") + a;
      }
      const std::string name = new_rule(body);
      memo[{i, c}] = name;
      return name;
    };
    const std::string body = rest(0, 0);
    if (body == kDead) fail(ErrorCode::invalid_format, at, "no object satisfies the property counts and required properties");
    return "\"{\" " + body + " \"}\"";
  }

  // A JSON string key that is none of `names` (an additional property must not be a declared
  // one): a trie of the names' characters, where leaving the trie frees the rest.
  std::string not_in_names(const std::set<std::string>& names) {
    if (names.empty()) return "string";
    // Each name as its JSON-escaped bytes between the quotes.
    std::vector<std::string> keys;
    for (const auto& nm : names) {
      const std::string j = Json(nm).dump();
      keys.push_back(j.substr(1, j.size() - 2));
    }
    std::function<std::string(const std::string&)> node = [&](const std::string& prefix) -> std::string {
      bool terminal = false;
      std::set<unsigned char> next;
      for (const auto& k : keys) {
        if (k.compare(0, prefix.size(), prefix) != 0) continue;
        if (k.size() == prefix.size()) terminal = true;
        else next.insert(static_cast<unsigned char>(k[prefix.size()]));
      }
      std::vector<std::string> alts;
      if (!terminal) alts.push_back("\"\\\"\"");
      std::string excluded;
      for (const unsigned char c : next) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02X", c);
        excluded += buf;
        // A byte of the name: stay in the trie (an escape or multi-byte char continues byte-wise).
        alts.push_back(std::string("[") + buf + "] " + node(prefix + static_cast<char>(c)));
      }
      // Any other first character leaves every name behind.
      alts.push_back("[^\"\\\\\\x00-\\x1F" + excluded + "] char* \"\\\"\"");
      if (!next.count('\\')) alts.push_back("\"\\\\\" ([\"\\\\/bfnrt] | \"u\" ( [0-9a-cA-CefEF] hex{3} | [dD] [0-7] hex{2} )) char* \"\\\"\"");
      std::string body;
      for (const auto& a : alts) body += (body.empty() ? "" : " | ") + a;
      return new_rule(body);
    };
    return "\"\\\"\" " + node("");
  }

  std::string array(const Json& s, const std::string& at, int d) {
    for (const auto& [key, v] : s.items()) {
      static const std::set<std::string> ok = {"type", "items", "prefixItems", "minItems", "maxItems", "title",
                                               "description", "$schema", "$id", "$comment", "default",
                                               "examples", "deprecated", "readOnly", "writeOnly", "$defs",
                                               "definitions"};
      if (!ok.count(key)) fail(ErrorCode::unsupported, at, "keyword '" + key + "' with type 'array'");
    }
    std::vector<std::string> prefix;
    if (s.contains("prefixItems")) {
      if (!s["prefixItems"].is_array()) fail(ErrorCode::invalid_format, at + "/prefixItems", "must be an array");
      for (size_t i = 0; i < s["prefixItems"].size(); ++i) {
        prefix.push_back(value(s["prefixItems"][i], at + "/prefixItems/" + std::to_string(i), d + 1));
      }
    }
    std::string item = "value";
    bool items_allowed = true;
    if (s.contains("items")) {
      const Json& it = s["items"];
      if (it.is_boolean() && !it.get<bool>()) items_allowed = false;
      else if (it.is_array()) fail(ErrorCode::unsupported, at + "/items", "items as an array (use prefixItems)");
      else item = value(it, at + "/items", d + 1);
    }
    const int64_t k = static_cast<int64_t>(prefix.size());
    const int64_t min = count(s, "minItems", at, 0);
    int64_t max = count(s, "maxItems", at, -1);
    if (!items_allowed) max = max < 0 ? k : std::min(max, k);
    if (max >= 0 && min > max) fail(ErrorCode::invalid_format, at, "minItems is above what maxItems and items allow");
    // A(i): the items from position i on, after i present ones.
    std::map<int64_t, std::string> memo;
    const std::string close = nl(d);
    std::function<std::string(int64_t)> from = [&](int64_t i) -> std::string {
      if (const auto it = memo.find(i); it != memo.end()) return it->second;
      const std::string sep = i == 0 ? nl(d + 1) : join(gbnf_literal(","), nl(d + 1));
      std::string body;
      if (i >= k && min <= i && max < 0) {  // the unbounded tail: (sep item)*
        const std::string tail = join(join(gbnf_literal(","), nl(d + 1)), item);
        body = i == 0 ? "(" + join(sep, item) + " (" + tail + ")* " + (close.empty() ? "" : close) + ")?"
                      : "(" + tail + ")* " + (close.empty() ? "" : close);
        if (i > 0 && close.empty()) body = "(" + tail + ")*";
      } else {
        std::vector<std::string> alts;
        if (i >= min) alts.push_back(i == 0 || close.empty() ? "\"\"" : close);
        if (max < 0 || i < max) {
          const std::string v = i < k ? prefix[static_cast<size_t>(i)] : item;
          alts.push_back(join(join(sep, v), from(i + 1)));
        }
        for (const auto& a : alts) body += (body.empty() ? "" : " | ") + a;
      }
      const std::string name = new_rule(body);
      memo[i] = name;
      return name;
    };
    return "\"[\" " + from(0) + " \"]\"";
  }

  std::string string(const Json& s, const std::string& at) {
    if (s.contains("format")) {
      if (s.contains("pattern") || s.contains("minLength") || s.contains("maxLength")) {
        fail(ErrorCode::unsupported, at, "format together with pattern or lengths");
      }
      const std::string f = s["format"].is_string() ? s["format"].get<std::string>() : "";
      static const std::string date =
          R"([0-9]{4} "-" ( ( "0" [13578] | "1" [02] ) "-" ( "0" [1-9] | [12] [0-9] | "3" [01] ) | ( "0" [469] | "11" ) "-" ( "0" [1-9] | [12] [0-9] | "30" ) | "02-" ( "0" [1-9] | "1" [0-9] | "2" [0-8] ) ))";
      static const std::string time =
          R"(( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{1,9} )? ( "Z" | [+-] ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] ))";
      std::string body;
      if (f == "date") body = date;
      else if (f == "time") body = time;
      else if (f == "date-time") body = date + " \"T\" " + time;
      else if (f == "uuid") body = "[0-9a-f]{8} \"-\" [0-9a-f]{4} \"-\" [0-9a-f]{4} \"-\" [0-9a-f]{4} \"-\" [0-9a-f]{12}";
      else fail(ErrorCode::unsupported, at + "/format", "format '" + f + "' is not supported");
      return "\"\\\"\" " + body + " \"\\\"\"";
    }
    if (s.contains("pattern")) {
      if (s.contains("minLength") || s.contains("maxLength")) fail(ErrorCode::unsupported, at, "pattern together with lengths");
      if (!s["pattern"].is_string()) fail(ErrorCode::invalid_format, at + "/pattern", "must be a string");
      try {
        return "\"\\\"\" " + regex_to_gbnf(s["pattern"].get<std::string>(), true) + " \"\\\"\"";
      } catch (const Error& e) {
        fail(e.code(), at + "/pattern", e.what());
      }
    }
    const int64_t min = count(s, "minLength", at, 0), max = count(s, "maxLength", at, -1);
    if (max >= 0 && min > max) fail(ErrorCode::invalid_format, at, "minLength is above maxLength");
    if (min == 0 && max < 0) return "string";
    return "\"\\\"\" char{" + std::to_string(min) + "," + (max < 0 ? "" : std::to_string(max)) + "} \"\\\"\"";
  }

  static std::string integer(const Json& s, const std::string& at) {
    const auto bound = [&](const char* key) -> std::optional<int64_t> {
      if (!s.contains(key)) return std::nullopt;
      const Json& v = s[key];
      // An unsigned above int64's range would wrap; a double is range-checked before it is converted.
      if (v.is_number_unsigned() && v.get<uint64_t>() <= 1000000000000000000ULL) return v.get<int64_t>();
      if (v.is_number_integer() && !v.is_number_unsigned()) return v.get<int64_t>();
      if (v.is_number_float()) {
        const double d = v.get<double>();
        if (std::abs(d) < 1e18 && d == std::floor(d)) return static_cast<int64_t>(d);
      }
      fail(ErrorCode::unsupported, at + "/" + key, "must be an integer (in [-1e18, 1e18])");
    };
    const auto lo = bound("minimum"), hi = bound("maximum");
    if (!lo && !hi) return "integer";
    if (lo && hi && *lo > *hi) fail(ErrorCode::invalid_format, at, "minimum is above maximum");
    constexpr int64_t kBig = 999999999999999999;  // 18 digits: magnitudes stay in int64
    if (std::abs(lo.value_or(0)) > kBig || std::abs(hi.value_or(0)) > kBig) {
      fail(ErrorCode::unsupported, at, "bounds beyond 18 digits");
    }
    std::vector<std::string> alts;
    // Negative part: -[1, ...]; zero; positive part.
    if (!lo || *lo < 0) {
      const uint64_t far = lo ? static_cast<uint64_t>(-*lo) : 0;  // most negative magnitude
      const uint64_t near = hi && *hi < 0 ? static_cast<uint64_t>(-*hi) : 1;
      alts.push_back("\"-\" " + (lo ? uint_range(near, far) : uint_at_least(near)));
    }
    if ((!lo || *lo <= 0) && (!hi || *hi >= 0)) alts.push_back("\"0\"");
    if (!hi || *hi > 0) {
      const uint64_t from = lo && *lo > 1 ? static_cast<uint64_t>(*lo) : 1;
      alts.push_back(hi ? uint_range(from, static_cast<uint64_t>(*hi)) : uint_at_least(from));
    }
    std::string body;
    for (const auto& a : alts) body += (body.empty() ? "" : " | ") + a;
    return "(" + body + ")";
  }

  Json root_;
  bool pretty_;
  int depth_ = 0;
  std::map<std::string, std::string> rules_;
  std::map<std::string, std::string> refs_;
};

}  // namespace

std::string json_schema_to_gbnf(std::string_view schema_json, bool pretty) {
  Json root;
  try {
    root = Json::parse(schema_json);
  } catch (const Json::exception& e) {  // parse_error, and out_of_range for a number too large
    throw Error(ErrorCode::invalid_format, std::string("JSON Schema is not JSON: ") + e.what());
  }
  try {
    return Compiler(std::move(root), pretty).run();
  } catch (const Json::exception& e) {  // a value of the wrong type where the compiler reads one
    throw Error(ErrorCode::invalid_format, std::string("JSON Schema: ") + e.what());
  }
}

}  // namespace slim::grammar
