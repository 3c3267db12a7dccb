// Grammars: GBNF, regex and JSON Schema sources, the byte matcher's accepted and rejected texts,
// token masks on real vocabularies, and seeded random walks through the masks (no dead end).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <random>

#include "slim/error.hpp"
#include "slim/grammar.hpp"
#include "slim/tokenizer.hpp"
#include "test_support.hpp"

namespace {

bool matches(const slim::Grammar& g, std::string_view text) {
  slim::GrammarMatcher m(g);
  return m.accept(text) && m.is_complete();
}

void check_all(const slim::Grammar& g, std::initializer_list<const char*> good, std::initializer_list<const char*> bad) {
  for (const char* t : good) {
    INFO("accepted: " << t);
    CHECK(matches(g, t));
  }
  for (const char* t : bad) {
    INFO("rejected: " << t);
    CHECK_FALSE(matches(g, t));
  }
}

const char* kArithmetic = R"g(root  ::= (expr "=" ws term "\n")+
expr  ::= term ([-+*/] term)*
term  ::= ident | num | "(" ws expr ")" ws
ident ::= [a-z] [a-z0-9_]* ws
num   ::= [0-9]+ ws
ws    ::= [ \t\n]*
)g";

const char* kList = R"g(root ::= item+
# Excludes various line break characters
item ::= "- " [^\r\n\x0b\x0c\x85\u2028\u2029]+ "\n"
)g";

const char* kChess = R"g(# Algebraic notation, numbered moves
root   ::= "1. " move " " move "\n" ([1-9] [0-9]? ". " move " " move "\n")*
move   ::= (pawn | nonpawn | castle) [+#]?
nonpawn ::= [NBKQR] [a-h]? [1-8]? "x"? [a-h] [1-8]
pawn   ::= ([a-h] "x")? [a-h] [1-8] ("=" [NBKQR])?
castle ::= "O-O" "-O"?
)g";

}  // namespace

TEST_CASE("GBNF: arithmetic, lists and chess moves", "[grammar]") {
  check_all(slim::Grammar::from_gbnf(kArithmetic), {"1+2= 3\n", "(x*y)/2=z\n", "a = b\nc-1=0\n"},
            {"", "1+2=3", "1++2=3\n", "(1=2\n", "X=1\n"});
  check_all(slim::Grammar::from_gbnf(kList), {"- a\n", "- milk\n- \xC3\xA9ggs\n"},
            {"", "- \n", "-a\n", "- a", "- a\u2028b\n"});
  check_all(slim::Grammar::from_gbnf(kChess), {"1. e4 e5\n", "1. e4 e5\n2. Nf3 Nc6\n3. Bb5 a6\n", "1. O-O-O exd8=Q+\n"},
            {"1. e9 e5\n", "1. e4\n", "2. e4 e5\n", "1. Zf3 e5\n"});
}

TEST_CASE("GBNF: repetitions, classes, escapes and comments", "[grammar]") {
  check_all(slim::Grammar::from_gbnf("root ::= \"a\"{2,3} [^x-z]? \"\\u00e9\" . # comment\n"),
            {"aa\xC3\xA9q", "aaab\xC3\xA9\xE2\x82\xAC", "aaa\xC3\xA9\xF0\x9F\x98\x80"},
            {"a\xC3\xA9q", "aaaaa\xC3\xA9q", "aay\xC3\xA9q", "aa\xC3\xA9", "aa\xC3\xA9\xC3"});
  check_all(slim::Grammar::from_gbnf("root ::= x\nx ::= (\"ab\" | \"c\")*\n  | \"z\"\n"), {"", "abc", "cab", "z"},
            {"a", "zz", "abz"});
  check_all(slim::Grammar::from_gbnf("root ::= [a-c]{0,} \"!\"{1}"), {"!", "abcabc!"}, {"", "!!", "d!"});
}

TEST_CASE("GBNF errors have a position and refuse left recursion", "[grammar]") {
  const auto error_of = [](const char* g) {
    try {
      slim::Grammar::from_gbnf(g);
    } catch (const slim::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(error_of("root ::= \"a\n") == "grammar 1:10: unterminated literal");
  CHECK(error_of("root ::= a\n\nb ::= [ab") == "grammar 3:7: unterminated character class");
  CHECK(error_of("root ::= foo") == "grammar rule 'foo' is used but not defined");
  CHECK(error_of("r ::= \"a\"") == "grammar has no rule 'root'");
  CHECK(error_of("root ::= root \"a\" | \"b\"").find("left-recursive") != std::string::npos);
  CHECK(error_of("root ::= x \"a\"\nx ::= \"\" | root").find("left-recursive") != std::string::npos);
  CHECK(error_of("root ::= (\"a\"?)*").find("left-recursive") != std::string::npos);
  CHECK(error_of("root ::= \"a\"{3,2}").find("below its minimum") != std::string::npos);
  CHECK(error_of("root ::= \"a\"{999999} \"b\"{999999}").find("elements") != std::string::npos);
  CHECK(error_of("root ::= * \"a\"").find("follows nothing") != std::string::npos);
}

TEST_CASE("the matcher rolls back, copies, and bounds deep nesting", "[grammar]") {
  const auto g = slim::Grammar::any_json();
  slim::GrammarMatcher m(g);
  CHECK(m.accept("{\"a\":"));
  slim::GrammarMatcher snapshot = m;
  CHECK(m.accept("[1,2]"));
  CHECK_FALSE(m.accept("]"));
  CHECK(m.accept("}"));
  CHECK(m.is_complete());
  CHECK_FALSE(m.can_continue());
  m.rollback(2);
  CHECK_FALSE(m.is_complete());
  CHECK(m.accept("true}"));
  CHECK(m.is_complete());
  CHECK(snapshot.accept("null}"));
  CHECK(snapshot.is_complete());
  // Nesting is bounded: a very deep text is refused, never a crash.
  slim::GrammarMatcher deep(g);
  bool refused = false;
  for (int i = 0; i < 10000 && !refused; ++i) refused = !deep.accept("[");
  CHECK(refused);
  CHECK_THROWS_AS(m.rollback(100), slim::Error);
}

TEST_CASE("any JSON value", "[grammar]") {
  check_all(slim::Grammar::any_json(),
            {"{}", "[]", "0", "-1.5e+10", "\"a\\u00e9\\n\"", "{\"a\":[1,{\"b\":null}],\"c\":true}", "\"\xC3\xA9\""},
            {"", "{", "01", "1.", "{\"a\"}", "[1,]", "\"\x01\"", "{ }", "tru", "\"\\x\""});
}

TEST_CASE("regex", "[grammar]") {
  check_all(slim::Grammar::from_regex("^[a-z]+(-[a-z0-9]+)*\\.(com|org)$"), {"abc.com", "a-b1-c.org"},
            {"abc.net", "-a.com", "abc", "ABC.com"});
  check_all(slim::Grammar::from_regex("\\d{3}-\\d{2,4}|x?y+"), {"123-45", "123-4567", "y", "xyy"},
            {"12-45", "123-45678", "x", ""});
  check_all(slim::Grammar::from_regex("(?:a|b)*c.\\s\\w\\W[^\\d]"), {"abc? a!x", "c\xC3\xA9\tZ x"}, {"abc\n a!x", "c?  a!1"});
  CHECK_THROWS_WITH(slim::Grammar::from_regex("a(b"), "regex column 4: expected ')'");
  CHECK_THROWS_AS(slim::Grammar::from_regex("a\\p{L}"), slim::Error);
  CHECK_THROWS_AS(slim::Grammar::from_regex("a**"), slim::Error);
}
