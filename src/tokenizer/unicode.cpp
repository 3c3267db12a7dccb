#include "tokenizer/unicode.hpp"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/locid.h>
#include <unicode/unistr.h>

#include "slim/error.hpp"
#include "tokenizer/utf8.hpp"

namespace slim::tok {
namespace {

const icu::Normalizer2& normalizer(NormalForm form) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = nullptr;
  switch (form) {
    case NormalForm::nfc: n = icu::Normalizer2::getNFCInstance(status); break;
    case NormalForm::nfd: n = icu::Normalizer2::getNFDInstance(status); break;
    case NormalForm::nfkc: n = icu::Normalizer2::getNFKCInstance(status); break;
    case NormalForm::nfkd: n = icu::Normalizer2::getNFKDInstance(status); break;
  }
  if (U_FAILURE(status) || !n) {
    throw Error(ErrorCode::unsupported, std::string("ICU normalizer unavailable: ") +
                                            u_errorName(status));
  }
  return *n;
}

// Calls fn(valid_stretch) for each maximal well-formed stretch and keeps ill-formed bytes as they
// are, appending everything to a new string that replaces `text`.
template <class F>
void transform_valid_runs(std::string& text, F&& fn) {
  if (is_valid_utf8(text)) {
    std::string out;
    fn(std::string_view(text), out);
    text = std::move(out);
    return;
  }
  std::string out;
  size_t run = 0;
  for (size_t i = 0; i < text.size();) {
    const Utf8Step step = utf8_step(text, i);
    if (!step.valid) {
      fn(std::string_view(text).substr(run, i - run), out);
      out.append(text, i, step.length);
      run = i + step.length;
    }
    i += step.length;
  }
  fn(std::string_view(text).substr(run), out);
  text = std::move(out);
}

bool is_ascii(std::string_view s) {
  for (const char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

}  // namespace

void normalize_unicode(NormalForm form, std::string& text) {
  if (is_ascii(text)) return;  // ASCII is invariant under every normalization form
  const icu::Normalizer2& n = normalizer(form);
  transform_valid_runs(text, [&](std::string_view run, std::string& out) {
    UErrorCode status = U_ZERO_ERROR;
    icu::StringByteSink<std::string> sink(&out);
    n.normalizeUTF8(0, icu::StringPiece(run.data(), static_cast<int32_t>(run.size())), sink,
                    nullptr, status);
    if (U_FAILURE(status)) {
      throw Error(ErrorCode::invalid_argument, std::string("unicode normalization failed: ") +
                                                   u_errorName(status));
    }
  });
}

void lowercase_unicode(std::string& text) {
  transform_valid_runs(text, [](std::string_view run, std::string& out) {
    icu::UnicodeString s =
        icu::UnicodeString::fromUTF8(icu::StringPiece(run.data(), static_cast<int32_t>(run.size())));
    s.toLower(icu::Locale::getRoot());
    s.toUTF8String(out);
  });
}

bool is_unicode_whitespace(char32_t cp) { return u_isUWhiteSpace(static_cast<UChar32>(cp)); }

bool is_word_char(char32_t cp) { return cp == '_' || u_isalnum(static_cast<UChar32>(cp)); }

std::string_view trim_start(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const Utf8Step step = utf8_step(text, i);
    if (!step.valid || !is_unicode_whitespace(step.cp)) break;
    i += step.length;
  }
  return text.substr(i);
}

std::string_view trim_end(std::string_view text) {
  size_t end = text.size();
  while (end > 0) {
    size_t start = end - 1;  // back up to the lead byte of the last character
    while (start > 0 && end - start < 4 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) {
      --start;
    }
    const Utf8Step step = utf8_step(text, start);
    if (!step.valid || start + step.length != end || !is_unicode_whitespace(step.cp)) break;
    end = start;
  }
  return text.substr(0, end);
}

}  // namespace slim::tok
