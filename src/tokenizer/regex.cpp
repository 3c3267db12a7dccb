#include "tokenizer/regex.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <memory>

#include "slim/error.hpp"
#include "tokenizer/utf8.hpp"

namespace slim::tok {

struct Regex::Code {
  pcre2_code* code = nullptr;
  bool jit = false;  // JIT-compiled: matched through pcre2_jit_match, which skips per-call checks
  ~Code() { pcre2_code_free(code); }
};

namespace {

std::string pcre2_message(int rc) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(rc, buffer, sizeof buffer);
  return reinterpret_cast<const char*>(buffer);
}

struct MatchDataDeleter {
  void operator()(pcre2_match_data* m) const { pcre2_match_data_free(m); }
};
struct MatchContextDeleter {
  void operator()(pcre2_match_context* m) const { pcre2_match_context_free(m); }
};
struct JitStackDeleter {
  void operator()(pcre2_jit_stack* s) const { pcre2_jit_stack_free(s); }
};

}  // namespace

Regex::Regex(std::string_view pattern, std::string_view what) : what_(what) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error,
                                   &offset, nullptr);
  if (!code) {
    throw Error(ErrorCode::unsupported, what_ + ": cannot compile regex '" + std::string(pattern) +
                                            "' at offset " + std::to_string(offset) + ": " +
                                            pcre2_message(error));
  }
  code_ = new Code{code};
  code_->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;  // else the interpreter runs it
}

Regex Regex::literal(std::string_view literal, std::string_view what) {
  if (literal.empty()) return Regex("(?!)", what);  // an empty pattern never matches anything
  Regex r;
  r.literal_ = literal;
  r.what_ = what;
  return r;
}

Regex::Regex(Regex&& other) noexcept
    : code_(other.code_), literal_(std::move(other.literal_)), what_(std::move(other.what_)) {
  other.code_ = nullptr;
}

Regex& Regex::operator=(Regex&& other) noexcept {
  std::swap(code_, other.code_);
  std::swap(literal_, other.literal_);
  std::swap(what_, other.what_);
  return *this;
}

Regex::~Regex() { delete code_; }

void Regex::find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const {
  if (!code_) {
    for (size_t pos = text.find(literal_); pos != std::string_view::npos;
         pos = text.find(literal_, pos + literal_.size())) {
      out.emplace_back(pos, pos + literal_.size());
    }
    return;
  }
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> match(
      pcre2_match_data_create_from_pattern(code_->code, nullptr));
  if (!match) throw Error(ErrorCode::limit_exceeded, what_ + ": out of memory");
  // The JIT's default 32 KiB stack is enough for the usual patterns; a bigger one is made only
  // when a long subject needs it.
  std::unique_ptr<pcre2_match_context, MatchContextDeleter> context;
  std::unique_ptr<pcre2_jit_stack, JitStackDeleter> stack;
  const auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t start = 0;
  while (start <= text.size()) {
    const int rc =
        code_->jit ? pcre2_jit_match(code_->code, subject, text.size(), start, 0, match.get(), context.get())
                   : pcre2_match(code_->code, subject, text.size(), start, 0, match.get(), context.get());
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT && !stack) {
      stack.reset(pcre2_jit_stack_create(64 * 1024, 64 * 1024 * 1024, nullptr));
      context.reset(pcre2_match_context_create(nullptr));
      if (!stack || !context) throw Error(ErrorCode::limit_exceeded, what_ + ": out of memory");
      pcre2_jit_stack_assign(context.get(), nullptr, stack.get());
      continue;
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) throw Error(ErrorCode::limit_exceeded, what_ + ": regex match failed: " +
                                                           pcre2_message(rc));
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.get());
    const size_t begin = ovector[0], end = ovector[1];
    if (end > begin) {
      out.emplace_back(begin, end);
      start = end;
    } else {  // empty match: step over one character
      if (begin >= text.size()) break;
      start = begin + utf8_step(text, begin).length;
    }
  }
}

}  // namespace slim::tok
