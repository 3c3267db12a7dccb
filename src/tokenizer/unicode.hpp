// Unicode services from ICU: normalization forms and character properties. ICU was chosen over
// utf8proc on measured speed (docs/tokenizer.md): NFC at ~600-1100 MB/s against 25-45 MB/s.
#pragma once

#include <string>
#include <string_view>

namespace slim::tok {

enum class NormalForm { nfc, nfd, nfkc, nfkd };

// Normalizes the well-formed stretches of `text`; ill-formed bytes are kept as they are.
void normalize_unicode(NormalForm form, std::string& text);

// Lowercases (full Unicode mapping); ill-formed bytes are kept as they are.
void lowercase_unicode(std::string& text);

bool is_unicode_whitespace(char32_t cp);  // the White_Space property
bool is_word_char(char32_t cp);           // alphanumeric or '_'

// `text` without leading / trailing White_Space characters.
std::string_view trim_start(std::string_view text);
std::string_view trim_end(std::string_view text);

}  // namespace slim::tok
