// slim::Grammar: a context-free grammar over the bytes of generated text, and the matchers that
// constrain generation with it (structured output).
//
//   auto g = slim::Grammar::from_json_schema(R"({"type": "object", "properties": {...}})");
//   slim::generate(session, prompt, {.grammar = g});
//
// Sources: GBNF (llama.cpp's grammar format), an anchored regular expression, a JSON Schema (the
// subset in docs/structured_output.md) or any JSON value. Errors are slim::Error(invalid_format)
// with the position (line:column in a grammar or a regex, a JSON pointer in a schema);
// slim::Error(unsupported) names a schema keyword slim does not implement.
//
// GrammarMatcher follows text byte by byte; TokenMatcher adds a tokenizer's vocabulary and gives,
// at each step, the token ids whose bytes keep the text inside the grammar.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace slim {

class Tokenizer;

struct JsonSchemaOptions {
  // Compact JSON ({"a":1,"b":[2,3]}) by default; pretty = newlines and two-space indentation.
  bool pretty = false;
};

class Grammar {
 public:
  // GBNF: rules `name ::= alternatives`, `|`, `( )`, `*` `+` `?` `{m}` `{m,}` `{m,n}`, "literals"
  // with \n \r \t \\ \" \xHH \uHHHH \UHHHHHHHH escapes, [classes] with ranges and ^, `.` (any
  // character), # comments. Generation starts at rule `root`.
  static Grammar from_gbnf(std::string_view text);
  // An anchored regex (the whole text matches): literals, escapes (\d \w \s \D \W \S \. ...),
  // classes, `.` (any character but a newline), groups ( ) and (?: ), `|`, `*` `+` `?` `{m,n}`.
  static Grammar from_regex(std::string_view regex);
  // Any JSON value (compact: no whitespace outside strings).
  static Grammar any_json();
  static Grammar from_json_schema(std::string_view schema_json, const JsonSchemaOptions& options = {});

  // The grammar as GBNF (what from_regex and from_json_schema compile to; helpful to read).
  const std::string& gbnf() const;

  struct Rules;  // the compiled rules (src/grammar/rules.hpp)
  const Rules& rules() const { return *rules_; }
  const std::shared_ptr<const Rules>& rules_ptr() const { return rules_; }

 private:
  explicit Grammar(std::shared_ptr<const Rules> rules) : rules_(std::move(rules)) {}
  std::shared_ptr<const Rules> rules_;  // immutable: copies share it, across threads too
};

// Follows text through a grammar a byte at a time (a set of pushdown stacks, as llama.cpp's
// grammar sampler keeps). Copyable: a copy is a snapshot to come back to.
class GrammarMatcher {
 public:
  explicit GrammarMatcher(const Grammar& grammar);
  GrammarMatcher(const GrammarMatcher&);
  GrammarMatcher& operator=(const GrammarMatcher&);
  GrammarMatcher(GrammarMatcher&&) noexcept;
  GrammarMatcher& operator=(GrammarMatcher&&) noexcept;
  ~GrammarMatcher();

  // Advances over `bytes` when the grammar allows all of them; otherwise returns false and the
  // state is unchanged. Throws slim::Error(limit_exceeded) when the grammar is so ambiguous that
  // the state would hold more than 4,096 stacks, or a stack deeper than 4,096 entries.
  bool accept(std::string_view bytes);
  bool is_complete() const;     // the text so far is a whole sentence of the grammar
  bool can_continue() const;    // some byte can still follow
  size_t bytes_accepted() const;
  // Undoes the last `n` successful accept() calls (n <= accepts_count()).
  void rollback(size_t n);
  size_t accepts_count() const;

  struct State;

 private:
  friend class TokenMatcher;
  std::unique_ptr<State> state_;
};

// The vocabulary side of token masks: a byte trie of every non-special token's bytes (as
// Tokenizer::token_bytes gives them). Building it is most of a TokenMatcher's preprocessing
// (tens of ms on a 128k-256k vocabulary) and depends only on the tokenizer, so it is built once
// and shared: immutable, copies share it, across threads too.
class TokenVocabulary {
 public:
  explicit TokenVocabulary(const Tokenizer& tokenizer);
  int32_t vocab_size() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  std::shared_ptr<const Impl> impl_;
};

// A grammar and a tokenizer's vocabulary together: token masks for constrained generation.
// Masks of each grammar state are cached. Special tokens are never allowed, except the
// end-of-sequence ids when the text is complete.
class TokenMatcher {
 public:
  // Only grammar-specific work: the vocabulary is shared.
  TokenMatcher(const Grammar& grammar, const TokenVocabulary& vocabulary, std::vector<int32_t> eos_ids);
  // Builds the vocabulary for this matcher alone.
  TokenMatcher(const Grammar& grammar, const Tokenizer& tokenizer, std::vector<int32_t> eos_ids);
  TokenMatcher(TokenMatcher&&) noexcept;
  TokenMatcher& operator=(TokenMatcher&&) noexcept;
  ~TokenMatcher();

  // The allowed ids as a bitmask: bit (id % 64) of word id / 64, vocab_size() bits. The span
  // stays valid until the next call on this matcher.
  std::span<const uint64_t> mask();
  // Advances over a token's bytes (an end-of-sequence id accepts nothing). Returns false, state
  // unchanged, when the token is not allowed.
  bool accept_token(int32_t id);
  bool is_complete() const;
  // Whether any token other than end-of-sequence can follow.
  bool can_continue() const;
  void rollback(size_t tokens);
  int32_t vocab_size() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace slim
